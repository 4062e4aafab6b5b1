"""Settings come from the environment, with safe embedded defaults."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 60 + "-production-secret-for-the-test",
    "ALLOWED_HOSTS": "baton.example.com",
    "DATABASE_URL": "postgres://baton@db.internal:5432/baton",
    "BROKER_URL": "redis://redis.internal:6379/0",
}


def manage(*args, env=None):
    # A clean environment: none of the production variables, nor the browser tests' flag.
    leave_out = {*PRODUCTION, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in leave_out}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_refuses_to_start_without_secret_key_when_debug_is_off():
    result = manage("check", env={"DEBUG": "0"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Baton: set the SECRET_KEY environment variable (required when DEBUG=0)."
    ]


def test_check_deploy_is_clean_with_the_documented_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_defaults_to_sqlite_and_the_in_process_broker():
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DRAMATIQ_BROKER['BROKER'])"
    )
    result = manage("shell", "--no-imports", "-c", code, env={"DATABASE_URL": "", "BROKER_URL": ""})
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "dramatiq.brokers.stub.StubBroker",
    ]


def test_it_uses_postgres_and_redis_when_their_urls_are_set():
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DRAMATIQ_BROKER['BROKER'])"
    )
    result = manage("shell", "--no-imports", "-c", code, env=PRODUCTION | {"DEBUG": "1"})
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "runs.broker.BatonRedisBroker",
    ]


def _directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.mark.django_db
def test_every_page_gets_the_strict_content_security_policy(client):
    response = client.get("/accounts/login/")

    assert _directives(response["Content-Security-Policy"]) == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
    }


@pytest.mark.django_db
def test_the_api_docs_may_also_show_the_data_icons_of_swagger_ui(client):
    docs = _directives(client.get("/api/v1/docs")["Content-Security-Policy"])
    page = _directives(client.get("/accounts/login/")["Content-Security-Policy"])

    assert docs == page | {"img-src": "'self' data:"}


REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"
DATABASE_CACHE = "django.core.cache.backends.db.DatabaseCache"


@pytest.mark.parametrize(
    ("env", "form_action", "cache"),
    [
        ({"GOOGLE_CLIENT_ID": "id-1", "BROKER_URL": "redis://r:6379/0"}, "google", REDIS_CACHE),
        ({"GOOGLE_CLIENT_ID": "", "BROKER_URL": "", "REDIS_URL": "redis://r/1"}, "", REDIS_CACHE),
        ({"GOOGLE_CLIENT_ID": "", "BROKER_URL": "", "REDIS_URL": ""}, "", DATABASE_CACHE),
    ],
)
def test_forms_reach_google_only_with_google_login_and_the_cache_is_shared(env, form_action, cache):
    """Google in form-action only when set up; the cache in Redis when there is one, else the DB."""
    code = (
        "from django.conf import settings as s;"
        "print(' '.join(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action']));"
        "print(s.CACHES['default']['BACKEND'])"
    )
    result = manage("shell", "--no-imports", "-c", code, env=env)

    google = " https://accounts.google.com" if form_action else ""
    assert result.stdout.splitlines() == [f"'self'{google}", cache], result.stderr
