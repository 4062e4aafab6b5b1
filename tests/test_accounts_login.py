"""Login: every page behind it, password login and its switch, sign-up closed, limits, expiry."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.middleware import LoginRequiredMiddleware
from accounts.testing import make_user, make_workflow

ROOT = Path(__file__).resolve().parent.parent

# Views reachable without logging in, by module: the login machinery only.
PUBLIC_VIEW_MODULES = ("allauth.", "django.contrib.admin.sites")
PUBLIC_VIEWS = {"accounts.views.managed_by_admins"}


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()  # allauth counts login attempts in the cache
    yield
    cache.clear()


@pytest.fixture
def alice(db):
    return make_user("alice", email="alice@example.com", password="correct horse battery")


def log_in(client, login="alice", password="correct horse battery"):
    return client.post(reverse("account_login"), {"login": login, "password": password})


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _all_views(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _all_views(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def test_it_marks_no_view_public_but_the_login_machinery():
    public = {
        f"{callback.__module__}.{callback.__name__}": route
        for route, callback in _all_views()
        if getattr(callback, "login_required", True) is False
    }

    unexpected = {
        name: route
        for name, route in public.items()
        if not name.startswith(PUBLIC_VIEW_MODULES) and name not in PUBLIC_VIEWS
    }
    assert unexpected == {}


@pytest.mark.parametrize(
    "path", ["/tokens/", "/workflows/payroll/access/", "/admin/", "/accounts/password/change/"]
)
def test_it_sends_anonymous_visitors_to_the_login_page(client, db, path):
    make_workflow("payroll")

    response = client.get(path, follow=True)

    last_redirect = response.redirect_chain[-1][0]
    assert last_redirect.startswith("/accounts/login/?next=")
    assert response.status_code == 200
    assert "Sign in to Baton" in response.content.decode()


def test_it_sends_the_admin_login_to_the_one_login_page(client, db):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/admin/login/")


def test_it_reloads_the_page_on_the_login_screen_for_htmx_requests(client, db):
    response = client.get("/tokens/", headers={"HX-Request": "true"})

    assert response["HX-Redirect"] == "/accounts/login/?next=/tokens/"


def test_it_leaves_the_api_to_its_own_token_authentication():
    middleware = LoginRequiredMiddleware(lambda request: None)
    request = RequestFactory().get("/api/v1/workflows")
    request.user = type("Anonymous", (), {"is_authenticated": False})()

    assert middleware.process_view(request, lambda request: None, (), {}) is None


def test_it_logs_in_with_a_username_or_an_email_and_a_password(client, alice):
    assert log_in(client).status_code == 302
    assert signed_in(client)
    client.logout()

    log_in(client, login="alice@example.com")

    assert signed_in(client)


def test_it_refuses_a_wrong_password_with_a_message(client, alice):
    response = log_in(client, password="wrong")

    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert not signed_in(client)


def test_it_turns_password_login_off(client, alice, settings):
    settings.SOCIALACCOUNT_ONLY = True

    page = client.get(reverse("account_login")).content.decode()
    response = log_in(client)

    assert 'name="password"' not in page
    assert "No way to sign in is set up" in page  # and no Google either, in this test
    assert response.status_code == 403
    assert not signed_in(client)


def test_it_keeps_sign_up_closed(client, db):
    users = get_user_model().objects.count()

    response = client.post(
        reverse("account_signup"),
        {
            "username": "intruder",
            "password1": "a long password 1",
            "password2": "a long password 1",
        },
    )

    assert "No sign-up" in response.content.decode()
    assert get_user_model().objects.count() == users


def test_it_blocks_logins_after_five_failures_even_with_the_right_password(client, alice):
    for _attempt in range(5):
        log_in(client, password="guess")

    response = log_in(client)

    assert "Too many failed login attempts" in response.content.decode()
    assert not signed_in(client)


def test_it_logs_out(client, alice):
    log_in(client)

    client.post(reverse("account_logout"))

    assert not signed_in(client)
    assert client.get("/tokens/").status_code == 302


def test_it_ends_the_session_after_session_cookie_age(client, alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        log_in(client)
        assert client.get("/tokens/").status_code == 200
    later = start + timedelta(seconds=django_settings.SESSION_COOKIE_AGE + 60)
    with time_machine.travel(later, tick=False):
        assert client.get("/tokens/").status_code == 302


def test_it_tells_people_to_ask_an_admin_instead_of_sending_password_reset_mail(client, alice):
    response = client.post("/accounts/password/reset/", {"email": "alice@example.com"})

    assert "Ask an administrator" in response.content.decode()
    assert mail.outbox == []


def _settings_from_env(**env):
    code = (
        "from django.conf import settings as s;"
        "print(s.SOCIALACCOUNT_ONLY, s.BATON_ALLOWED_EMAIL_DOMAINS,"
        " s.SOCIALACCOUNT_PROVIDERS['google'])"
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "BATON_"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT,
        env=keep | env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_it_reads_google_and_password_login_from_the_environment():
    configured = _settings_from_env(
        GOOGLE_CLIENT_ID="id-1",
        GOOGLE_CLIENT_SECRET="secret-1",
        BATON_ALLOWED_EMAIL_DOMAINS="Example.com",
        BATON_PASSWORD_LOGIN="0",
    )
    assert configured.startswith("True ['example.com'] ")
    assert "'client_id': 'id-1', 'secret': 'secret-1'" in configured
    assert "'hd': 'example.com'" in configured

    default = _settings_from_env()
    assert default.startswith("False [] ")
    assert "'APPS': []" in default and "'hd'" not in default
