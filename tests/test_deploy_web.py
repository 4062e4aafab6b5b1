"""What the web process tells an orchestrator, and whom it believes behind a proxy."""

import pytest
from django.db import OperationalError
from django.db.migrations import Migration
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts.testing import make_user
from audit.recorder import Verb
from audit.testing import AuditTrail
from config import health
from config.networks import BadNetworkSetting, parse_networks
from config.proxies import client_address

pytestmark = pytest.mark.django_db

PROXIES = ["10.0.0.0/8", "192.0.2.7"]


@pytest.fixture
def production(settings):
    """A public host name and the HTTPS redirect on, as in production."""
    settings.ALLOWED_HOSTS = ["baton.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    return settings


@pytest.fixture
def behind_proxies(production):
    production.BATON_TRUSTED_PROXIES = PROXIES
    production.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    return Client()  # its middleware reads the settings above


def test_healthz_answers_a_container_healthcheck_whatever_its_host_and_scheme(production):
    response = Client().get("/healthz", HTTP_HOST="127.0.0.1:8000")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_says_ready_with_each_check(production):
    response = Client().get("/readyz", HTTP_HOST="10.1.2.3:8000")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "failed": [],
        "checks": {"database": "ok", "migrations": "ok", "broker": "ok"},
    }


class UnreachableRedis:
    def ping(self):
        raise RedisConnectionError("Error 111 connecting to redis:6379. Connection refused.")


class BrokerWithoutRedis:
    client = UnreachableRedis()


def test_readyz_answers_503_naming_an_unreachable_broker(monkeypatch):
    monkeypatch.setattr(health.dramatiq, "get_broker", BrokerWithoutRedis)

    response = Client().get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["failed"]) == ("not ready", ["broker"])
    assert body["checks"]["broker"] == (
        "unreachable: Error 111 connecting to redis:6379. Connection refused."
    )
    assert body["checks"]["database"] == "ok"


def test_readyz_answers_503_naming_migrations_not_applied(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)
    pending = [(Migration("0099_later", "runs"), False)]
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: pending)

    body = Client().get("/readyz").json()

    assert body["failed"] == ["migrations"]
    assert body["checks"]["migrations"] == (
        "1 not applied (runs.0099_later): run `manage.py migrate`"
    )


def test_readyz_answers_503_naming_an_unreachable_database(monkeypatch):
    def refused():
        raise OperationalError('connection to server at "db" (10.0.0.9), port 5432 failed')

    monkeypatch.setattr(health.connection, "cursor", refused)

    response = Client().get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["database", "migrations"]
    assert body["checks"]["database"] == (
        'unreachable: connection to server at "db" (10.0.0.9), port 5432 failed'
    )


def _create_token(client, **meta):
    client.force_login(make_user("alice"))
    trail = AuditTrail()
    client.post("/tokens/", {"name": "laptop"}, HTTP_HOST="baton.example.com", **meta)
    return trail.only(verb=Verb.TOKEN_CREATED)


def test_the_audit_trail_has_the_users_address_from_a_trusted_proxy(behind_proxies):
    event = _create_token(
        behind_proxies,
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="198.51.100.20, 203.0.113.9, 10.0.0.7",
        HTTP_X_FORWARDED_PROTO="https",
    )

    assert event.ip_address == "203.0.113.9"  # the nearest address that is not a proxy


def test_a_client_cannot_claim_another_address(behind_proxies):
    event = _create_token(
        behind_proxies,
        REMOTE_ADDR="198.51.100.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        secure=True,  # it reached Baton over HTTPS itself
    )

    assert event.ip_address == "198.51.100.1"


def test_without_trusted_proxies_forwarded_headers_are_ignored(production):
    production.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    event = _create_token(
        Client(),
        REMOTE_ADDR="10.0.0.5",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        HTTP_X_FORWARDED_PROTO="https",
        secure=True,
    )

    assert event.ip_address == "10.0.0.5"


def test_https_is_believed_only_from_a_trusted_proxy(behind_proxies):
    https = {"HTTP_HOST": "baton.example.com", "HTTP_X_FORWARDED_PROTO": "https"}

    from_proxy = behind_proxies.get("/accounts/login/", REMOTE_ADDR="192.0.2.7", **https)
    from_anyone = behind_proxies.get("/accounts/login/", REMOTE_ADDR="198.51.100.1", **https)

    assert from_proxy.status_code == 200
    assert (from_anyone.status_code, from_anyone["Location"]) == (
        301,
        "https://baton.example.com/accounts/login/",
    )


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", "10.0.0.6, 10.0.0.7", "10.0.0.6"),  # all proxies: the farthest one
        ("10.0.0.5", "203.0.113.9, not-an-ip", "10.0.0.5"),  # garbled: as far as known good
        ("10.0.0.5", "", "10.0.0.5"),
        ("198.51.100.1", "203.0.113.9", "198.51.100.1"),  # not a proxy: its header is ignored
        ("10.0.0.5", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address_walks_back_over_trusted_proxies_only(peer, forwarded_for, client):
    assert (
        client_address(
            peer, forwarded_for, parse_networks(PROXIES, setting="BATON_TRUSTED_PROXIES")
        )
        == client
    )


def test_a_bad_proxy_entry_is_named():
    with pytest.raises(BadNetworkSetting, match="'10.0.0.0/33' is not an IP address or a network"):
        parse_networks(["10.0.0.0/8", " 10.0.0.0/33"], setting="BATON_TRUSTED_PROXIES")
