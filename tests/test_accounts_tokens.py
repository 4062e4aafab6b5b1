"""API tokens: authentication, storage, the My tokens page and `createtoken`."""

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import create_token, revoke_token
from accounts.testing import make_user
from accounts.tokens import authenticate_token


@pytest.fixture
def alice(db):
    return make_user("alice")


def test_it_authenticates_a_token_as_its_user(alice):
    token, raw = create_token(user=alice, name="ci")

    assert authenticate_token(raw) == (alice, token)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_it_refuses_a_revoked_token(alice):
    token, raw = create_token(user=alice, name="ci")

    revoke_token(token=token)

    assert authenticate_token(raw) is None


def test_it_refuses_an_expired_token(alice):
    now = timezone.now()
    _token, raw = create_token(user=alice, name="ci", expires_at=now + timedelta(days=1))

    with time_machine.travel(now + timedelta(days=1, seconds=1), tick=False):
        assert authenticate_token(raw) is None


def test_it_refuses_the_tokens_of_a_deactivated_user(alice):
    _token, raw = create_token(user=alice, name="ci")
    alice.is_active = False
    alice.save()

    assert authenticate_token(raw) is None


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw[:-1] + ("A" if raw[-1] != "A" else "B"),  # right prefix, wrong secret
        lambda raw: raw.replace("baton_", "other_"),
        lambda raw: raw.split("_")[0] + "_" + raw.split("_")[1],  # no secret
        lambda raw: "",
        lambda raw: None,
        lambda raw: "baton_00000000_" + raw.split("_", 2)[2],  # unknown prefix
    ],
)
def test_it_refuses_wrong_and_malformed_tokens(alice, mangle):
    _token, raw = create_token(user=alice, name="ci")

    assert authenticate_token(mangle(raw)) is None


def test_it_stores_only_a_hash_of_the_token(alice):
    token, raw = create_token(user=alice, name="ci")

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken WHERE id = %s", [token.pk])
        stored = " ".join(str(value) for value in cursor.fetchone())
    secret = raw.split("_", 2)[2]
    assert secret not in stored and raw not in stored
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()


def test_it_records_the_last_use_at_most_once_a_minute(alice):
    token, raw = create_token(user=alice, name="ci")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        authenticate_token(raw)
    with (
        time_machine.travel(start + timedelta(seconds=30), tick=False),
        CaptureQueriesContext(connection) as soon_after,
    ):
        authenticate_token(raw)
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        authenticate_token(raw)

    assert len(soon_after.captured_queries) == 1  # the lookup, no UPDATE
    token.refresh_from_db()
    assert token.last_used_at == start + timedelta(minutes=2)


def test_it_shows_a_new_token_once_on_the_my_tokens_page(client, alice):
    client.force_login(alice)

    created = client.post(
        reverse("accounts:tokens"), {"name": "nightly CI", "expires_in_days": "30"}
    )

    token = ApiToken.objects.get(user=alice)
    raw = created.content.decode().split('<code class="secret">')[1].split("</code>")[0]
    assert authenticate_token(raw) == (alice, token)
    assert "no-cache" in created["Cache-Control"]
    assert token.expires_at.date() == (timezone.now() + timedelta(days=30)).date()
    listed = client.get(reverse("accounts:tokens")).content.decode()
    assert "nightly CI" in listed and token.display_key in listed
    assert raw not in listed


def test_it_explains_what_is_wrong_with_a_new_token(client, alice):
    client.force_login(alice)

    response = client.post(reverse("accounts:tokens"), {"name": "", "expires_in_days": "12"})

    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page
    assert "Select a valid choice" in page
    assert not ApiToken.objects.exists()


def test_it_revokes_a_token_from_the_my_tokens_page(client, alice):
    token, raw = create_token(user=alice, name="ci")
    client.force_login(alice)

    response = client.post(reverse("accounts:token_revoke", args=[token.pk]), follow=True)

    assert "is revoked" in response.content.decode()
    assert authenticate_token(raw) is None


def test_it_lists_and_revokes_only_ones_own_tokens(client, alice):
    token, raw = create_token(user=make_user("bob"), name="bob's secret script")
    client.force_login(alice)

    assert "bob&#x27;s secret script" not in client.get(reverse("accounts:tokens")).content.decode()
    response = client.post(reverse("accounts:token_revoke", args=[token.pk]))

    assert response.status_code == 404
    assert authenticate_token(raw) is not None


def test_the_createtoken_command_prints_a_working_token(alice):
    out, err = StringIO(), StringIO()

    call_command(
        "createtoken", "alice", "--name", "deploy", "--expires-days", "7", stdout=out, stderr=err
    )

    raw = out.getvalue().strip()
    user, token = authenticate_token(raw)
    assert (user, token.name) == (alice, "deploy")
    assert token.expires_at.date() == (timezone.now() + timedelta(days=7)).date()
    assert "not shown again" in err.getvalue()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["nobody"], "No user is named 'nobody'."),
        (["alice", "--expires-days", "0"], "--expires-days must be 1 or more."),
    ],
)
def test_the_createtoken_command_explains_bad_input(alice, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("createtoken", *arguments)
    assert not ApiToken.objects.exists()


def test_an_admin_revokes_tokens_in_the_admin(client, alice):
    token, raw = create_token(user=alice, name="leaked")
    client.force_login(make_user("root", superuser=True))
    changelist = reverse("admin:accounts_apitoken_changelist")

    listed = client.get(changelist).content.decode()
    client.post(changelist, {"action": "revoke_selected", "_selected_action": [token.pk]})

    assert "leaked" in listed and token.display_key in listed
    assert token.key_hash not in listed
    assert authenticate_token(raw) is None
