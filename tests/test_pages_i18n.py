"""The pages speak French to French speakers: by browser preference or by choice."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from .pages_world import make_run, page_world


@pytest.fixture
def world(db, tmp_path):
    with page_world(tmp_path) as built:
        yield built


def test_it_follows_the_browser_language(client, world):
    client.force_login(world.operator)

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").content.decode()

    assert '<html lang="fr">' in page
    assert "Dernières exécutions" in page
    assert ">Lancer</a>" in page
    assert "Last runs" not in page


def test_the_language_chosen_in_the_switcher_wins_over_the_browser(client, world):
    client.force_login(world.viewer)

    response = client.post(reverse("set_language"), {"language": "fr", "next": "/runs/"})

    assert response.status_code == 302 and response["Location"] == "/runs/"
    page = client.get("/runs/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Filtrer les exécutions" in page


def test_before_logging_in_the_browser_language_decides(client, db):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr-CH,fr;q=0.9").content.decode()

    assert "Se connecter à Baton" in page


def test_states_dates_numbers_and_durations_are_in_french(client, world, settings):
    settings.TIME_ZONE = "Europe/Paris"
    run = make_run(
        world.report,
        state="failed",
        ago=timedelta(days=3),
        tasks={"fetch": "success", "add_up": "failed", "send": "upstream_failed"},
    )
    client.force_login(world.viewer)

    page = client.get(
        reverse("runs:detail", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="fr"
    ).content.decode()

    assert 'data-testid="run-state">Échouée<' in page
    assert "Non exécutée\u00a0: une tâche précédente a échoué" in page
    assert "durée 42\u00a0s" in page
    assert "il y a 3\u00a0jours" in page
    local = timezone.localtime(run.created_at)
    months = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ]
    assert f"{local.day} {months[local.month - 1]} {local.year}" in page


def test_the_run_form_and_its_messages_are_in_french(client, world):
    client.force_login(world.operator)

    response = client.post(
        reverse("workflows:run", args=["report"]),
        {"region": "north", "top": "x"},
        HTTP_ACCEPT_LANGUAGE="fr",
    )

    page = response.content.decode()
    assert "L’exécution n’a pas été lancée." in page
    assert "(obligatoire)" not in page  # every parameter of this form has a default
    assert "Lancer l’exécution" in page


def test_error_pages_are_friendly_and_translated(client, world):
    client.force_login(world.viewer)

    not_found = client.get("/runs/987654/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    forbidden = client.get(reverse("workflows:run", args=["report"])).content.decode()

    assert "Il n’y a rien ici" in not_found
    assert "You are not allowed to do this" in forbidden
    assert "Traceback" not in not_found + forbidden


def test_a_crash_shows_the_friendly_500_page(client, world, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("runs.views.runs_for_user", explode)
    client.raise_request_exception = False
    client.force_login(world.viewer)

    response = client.get(reverse("runs:list"), HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 500
    assert "Une erreur s’est produite de notre côté" in response.content.decode()
    assert "boom" not in response.content.decode()
