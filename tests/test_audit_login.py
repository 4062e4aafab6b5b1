"""Logins, logouts, failed logins and refused Google accounts land in the audit trail."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.testing import make_user
from audit.testing import AuditTrail
from tests.test_accounts_google_login import google, sign_in_with_google  # noqa: F401

PASSWORD = "correct horse battery"
BROWSER = {"user-agent": "Mozilla/5.0 (X11; Linux) Firefox/140"}


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()  # allauth counts login attempts in the cache
    yield
    cache.clear()


@pytest.fixture
def alice(db):
    return make_user("alice", email="alice@example.com", password=PASSWORD)


def log_in(client, login="alice", password=PASSWORD):
    return client.post(
        reverse("account_login"), {"login": login, "password": password}, headers=BROWSER
    )


def test_it_records_a_password_login(client, alice):
    trail = AuditTrail()

    log_in(client)

    event = trail.only()
    assert (event.verb, event.actor, event.actor_label) == ("login", alice, "alice")
    assert (event.object_type, event.object_id) == ("auth.user", str(alice.pk))
    assert event.details == {"method": "password"}
    assert (event.ip_address, event.user_agent) == ("127.0.0.1", BROWSER["user-agent"])


def test_it_records_a_logout(client, alice):
    log_in(client)
    trail = AuditTrail()

    client.post(reverse("account_logout"))

    event = trail.only()
    assert (event.verb, event.actor, event.object_id) == ("logout", alice, str(alice.pk))


def test_it_records_a_failed_login_under_the_login_typed_without_the_password(client, alice):
    trail = AuditTrail()

    log_in(client, password="wrong guess")

    event = trail.only()
    assert (event.verb, event.actor, event.actor_label) == ("login.failed", None, "alice")
    assert (event.object_type, event.object_id) == ("auth.user", str(alice.pk))
    assert event.details == {"login": "alice", "account_exists": True}
    assert "wrong guess" not in str(event.__dict__)


def test_it_records_a_failed_login_for_an_unknown_account(client, db):
    trail = AuditTrail()

    log_in(client, login="nobody@example.com", password="anything")

    event = trail.only()
    assert (event.verb, event.actor_label, event.object_type) == (
        "login.failed",
        "nobody@example.com",
        "",
    )
    assert event.details == {"login": "nobody@example.com", "account_exists": False}


def test_it_records_a_google_login(client, google):  # noqa: F811
    trail = AuditTrail()

    sign_in_with_google(client)

    event = trail.only(verb="login")
    assert (event.actor.email, event.details) == ("alice@example.com", {"method": "google"})


def test_it_records_a_refused_google_account(client, google):  # noqa: F811
    google.profile |= {"email": "eve@gmail.com", "sub": "2"}
    trail = AuditTrail()

    response = sign_in_with_google(client)

    assert response.status_code == 403
    event = trail.only()
    assert (event.verb, event.actor, event.actor_label) == ("login.refused", None, "eve@gmail.com")
    assert event.details == {
        "provider": "google",
        "email": "eve@gmail.com",
        "email_is_verified": True,
        "allowed_domains": ["example.com"],
    }
    assert event.ip_address == "127.0.0.1"
