"""Signing in with Google, end to end through allauth, with Google's endpoints faked.

The browser side is played by the test client (Baton's login button, then
Google's redirect back with a code); the server side exchange of that code for
tokens is answered by FakeGoogle at the `requests` level, so no network is used.
"""

import time
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.urls import reverse
from guardian.models import UserObjectPermission

from accounts import permissions
from accounts.testing import give_role, make_user, make_workflow

CLIENT_ID = "baton-test.apps.googleusercontent.com"
TOKEN_URL = "https://oauth2.googleapis.com/token"


class FakeGoogle:
    """Google's token endpoint: answers the code exchange with an ID token for ``profile``."""

    def __init__(self, **profile):
        self.profile = {
            "sub": "108000000000000000001",
            "email": "alice@example.com",
            "email_verified": True,
            "name": "Alice Martin",
            "given_name": "Alice",
            "family_name": "Martin",
        } | profile
        self.token_requests = []
        self.fails = False

    def request(self, session, method, url, **kwargs):
        if (method, url) != ("POST", TOKEN_URL):
            raise AssertionError(f"unexpected request to {method} {url}")
        self.token_requests.append(kwargs["data"])
        if self.fails:
            return self._response(400, {"error": "invalid_grant"})
        now = int(time.time())
        claims = {"iss": "https://accounts.google.com", "aud": CLIENT_ID, "iat": now}
        claims |= {"exp": now + 3600} | self.profile
        # Signed with any key: allauth skips the signature check of an ID token
        # it fetched itself over TLS (OpenID Connect Core 3.1.3.7).
        id_token = jwt.encode(claims, "an-hmac-key-of-at-least-32-bytes!", algorithm="HS256")
        body = {"access_token": "ya29.fake", "expires_in": 3599, "id_token": id_token}
        return self._response(200, body | {"token_type": "Bearer"})

    @staticmethod
    def _response(status: int, body: dict) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.headers["content-type"] = "application/json"
        response._content = requests.compat.json.dumps(body).encode()
        return response


@pytest.fixture
def google(db, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {
            "APPS": [{"client_id": CLIENT_ID, "secret": "test-secret"}],
            "SCOPE": ["profile", "email"],
            "AUTH_PARAMS": {"prompt": "select_account", "hd": "example.com"},
            "OAUTH_PKCE_ENABLED": True,
        }
    }
    settings.BATON_ALLOWED_EMAIL_DOMAINS = ["example.com"]
    fake = FakeGoogle()

    def fake_request(session, method, url, **kwargs):
        return fake.request(session, method, url, **kwargs)

    with mock.patch.object(requests.Session, "request", fake_request):
        yield fake


def sign_in_with_google(client):
    """Press "Sign in with Google", come back from Google with a code; the final response."""
    response = client.post(reverse("google_login"), {"process": "login"})
    assert response.status_code == 302
    to_google = urlsplit(response["Location"])
    assert to_google.netloc == "accounts.google.com"
    query = parse_qs(to_google.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["hd"] == ["example.com"]
    callback = reverse("google_callback")
    return client.get(callback, {"code": "4/code-from-google", "state": query["state"][0]})


def signed_in_user(client):
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id) if user_id else None


def test_it_creates_a_user_with_no_rights_on_first_google_login(client, google):
    make_workflow("payroll")

    response = sign_in_with_google(client)

    assert response.status_code == 302
    user = signed_in_user(client)
    assert (user.email, user.first_name, user.last_name) == ("alice@example.com", "Alice", "Martin")
    assert not user.is_staff and not user.is_superuser
    assert not user.groups.exists() and not user.user_permissions.exists()
    assert not UserObjectPermission.objects.filter(user=user).exists()
    assert permissions.workflows_for(user).count() == 0
    assert SocialAccount.objects.get(user=user).uid == "108000000000000000001"
    exchange = google.token_requests[0]
    assert (exchange["code"], exchange["client_secret"]) == ("4/code-from-google", "test-secret")
    assert exchange["code_verifier"]  # PKCE
    assert "Alice Martin" in client.get(reverse("accounts:tokens")).content.decode()


def test_it_refuses_an_email_outside_the_allowed_domains_with_a_page_saying_why(client, google):
    google.profile |= {"email": "eve@gmail.com", "sub": "2"}

    response = sign_in_with_google(client)

    assert response.status_code == 403
    page = response.content.decode()
    assert "This account may not sign in" in page
    assert "eve@gmail.com" in page and "@example.com" in page
    assert signed_in_user(client) is None
    assert not get_user_model().objects.filter(email="eve@gmail.com").exists()


def test_it_refuses_an_unverified_email_even_in_an_allowed_domain(client, google):
    google.profile |= {"email": "mallory@example.com", "email_verified": False}

    response = sign_in_with_google(client)

    assert response.status_code == 403
    assert "has not verified the address" in response.content.decode()
    assert signed_in_user(client) is None


def test_it_logs_an_existing_user_in_by_verified_email(client, google):
    bob = make_user("bob", email="Bob@Example.com", password="local-password")
    payroll = make_workflow("payroll")
    give_role(bob, "operator", payroll)
    google.profile |= {"email": "bob@example.com", "sub": "3", "given_name": "Bob", "name": "Bob"}
    users_before = get_user_model().objects.count()

    sign_in_with_google(client)

    assert signed_in_user(client) == bob
    assert get_user_model().objects.count() == users_before
    assert SocialAccount.objects.get(uid="3").user == bob
    assert permissions.can(signed_in_user(client), "trigger", payroll)


def test_it_logs_a_connected_google_user_in_again_as_the_same_user(client, google):
    sign_in_with_google(client)
    first = signed_in_user(client)
    client.logout()

    sign_in_with_google(client)

    assert signed_in_user(client) == first
    assert get_user_model().objects.filter(email="alice@example.com").count() == 1


def test_it_lets_any_google_account_in_when_no_domain_is_set(client, google, settings):
    settings.BATON_ALLOWED_EMAIL_DOMAINS = []
    google.profile |= {"email": "carol@gmail.com", "sub": "4"}

    sign_in_with_google(client)

    assert signed_in_user(client).email == "carol@gmail.com"


def test_it_shows_a_page_to_retry_when_google_refuses_the_code(client, google):
    google.fails = True

    response = sign_in_with_google(client)

    assert "Sign-in failed" in response.content.decode()
    assert signed_in_user(client) is None


def test_it_offers_google_on_the_login_page_only_when_configured(client, google, settings):
    assert "Sign in with Google" in client.get(reverse("account_login")).content.decode()

    settings.SOCIALACCOUNT_PROVIDERS = {"google": {"APPS": []}}

    assert "Sign in with Google" not in client.get(reverse("account_login")).content.decode()


def test_it_answers_404_for_google_login_when_google_is_not_configured(client, db, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"google": {"APPS": []}}

    assert client.get(reverse("google_login")).status_code == 404
    assert client.post(reverse("google_login")).status_code == 404


def test_it_asks_before_leaving_for_google_when_the_login_url_is_opened_directly(client, google):
    page = client.get(reverse("google_login")).content.decode()

    assert "Sign in with Google" in page and "Continue" in page
    assert not google.token_requests
