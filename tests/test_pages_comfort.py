"""Everyone's comfort: times in the person's time zone (browser or chosen), the zone named, the
language switch on the login page, and a lock-out message that says for how long."""

from datetime import UTC, datetime

import pytest
from django.test import override_settings
from django.urls import reverse

from accounts.adapters import lockout_words
from accounts.models import TimeZonePreference
from accounts.time_zones import COOKIE, SESSION_KEY

from .pages_world import make_run, page_world


@pytest.fixture
def world(db, tmp_path):
    with page_world(tmp_path) as built:
        yield built


def run_page(client, run):
    return client.get(reverse("runs:detail", args=[run.pk])).content.decode()


def test_times_follow_the_browser_time_zone_and_name_it(client, world):
    run = make_run(world.report)
    run.created_at = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    run.save()
    client.force_login(world.viewer)
    client.cookies[COOKIE] = "Europe/Paris"

    page = run_page(client, run)

    assert "<dt>Created</dt><dd>July 1, 2026, 2 p.m. (CEST)</dd>" in page  # 12:00 UTC
    assert 'data-testid="time-zone">Europe/Paris<' in page


def test_an_unknown_browser_zone_is_ignored(client, world):
    run = make_run(world.report)
    client.force_login(world.viewer)
    client.cookies[COOKIE] = "Mars/Olympus"

    page = run_page(client, run)

    assert 'data-testid="time-zone">UTC<' in page


def test_a_chosen_time_zone_wins_over_the_browser_and_is_kept_for_next_logins(client, world):
    client.force_login(world.viewer)
    client.cookies[COOKIE] = "Europe/Paris"

    response = client.post(reverse("accounts:preferences"), {"time_zone": "Asia/Tokyo"})

    assert response.status_code == 302
    assert TimeZonePreference.objects.get(user=world.viewer).time_zone == "Asia/Tokyo"
    page = client.get(reverse("accounts:preferences")).content.decode()
    assert "Times are shown in <strong>Asia/Tokyo</strong>" in page
    client.logout()
    client.force_login(world.viewer)
    assert client.session[SESSION_KEY] == "Asia/Tokyo"


def test_a_bad_time_zone_choice_is_an_error_and_changes_nothing(client, world):
    client.force_login(world.viewer)

    response = client.post(reverse("accounts:preferences"), {"time_zone": "Nowhere/Land"})

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not TimeZonePreference.objects.exists()


def test_following_the_browser_again_forgets_the_choice(client, world):
    client.force_login(world.viewer)
    client.post(reverse("accounts:preferences"), {"time_zone": "Asia/Tokyo"})

    client.post(reverse("accounts:preferences"), {"time_zone": ""})

    assert not TimeZonePreference.objects.exists()
    assert client.session[SESSION_KEY] == ""


def test_the_login_page_has_the_language_switch_and_it_works_before_login(client, db):
    page = client.get(reverse("account_login")).content.decode()

    assert 'action="/i18n/setlang/"' in page and 'lang="fr"' in page
    response = client.post(reverse("set_language"), {"language": "fr", "next": "/accounts/login/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "Mot de passe" in client.get("/accounts/login/").content.decode()


def test_the_lock_out_message_says_for_how_long():
    assert "blocked for up to 5 minutes" in lockout_words()
    with override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "3/1h/key"}):
        assert "blocked for up to 60 minutes" in lockout_words()
    with override_settings(ACCOUNT_RATE_LIMITS={}):
        assert lockout_words() == "Too many failed login attempts. Try again later."


# Session, user; the saved choice; the user's permissions and their groups' (the top bar's
# Audit link). The time zone itself costs no query on any page.
PREFERENCES_QUERIES = 5


def test_the_preferences_page_and_the_time_zone_cost_no_extra_query(
    client, world, django_assert_num_queries
):
    client.force_login(world.viewer)
    client.cookies[COOKIE] = "Europe/Paris"

    with django_assert_num_queries(PREFERENCES_QUERIES):
        client.get(reverse("accounts:preferences"))
