"""French: a decimal comma in number fields, workflow texts translated from code, and one
word per action."""

from decimal import Decimal

import pytest
from django.urls import reverse

from runs.models import WorkflowRun
from runs.testing import use_workflows
from workflows.models import Workflow

from .pages_world import make_run


@pytest.fixture
def demo(db, tmp_path):
    """The demo workflows (their title and help texts are lazy translations)."""
    with use_workflows(tmp_path):
        yield Workflow.objects.get(slug="sales_report")


@pytest.fixture
def french(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com")
    client.force_login(user)
    client.cookies["django_language"] = "fr"
    return client


def start(client, **values):
    data = {"region": "north", "top_n": "3", "threshold": "2500", "recipients": "a@example.com"}
    return client.post(reverse("workflows:run", args=["sales_report"]), {**data, **values})


def test_a_french_decimal_comma_is_read_as_a_decimal_point(french, demo):
    response = start(french, threshold="2 500,75")

    assert response.status_code == 302
    assert WorkflowRun.objects.get().parameters["threshold"] == "2500.75"


def test_in_english_a_comma_is_not_a_decimal_point_and_starts_nothing(
    client, demo, django_user_model
):
    client.force_login(django_user_model.objects.create_superuser("en", "en@example.com"))

    response = start(client, threshold="2,5")

    assert response.status_code == 400
    assert "Enter a number." in response.content.decode()
    assert not WorkflowRun.objects.exists()


def test_the_form_shows_a_decimal_default_with_a_comma_in_french(french, demo):
    page = french.get(reverse("workflows:run", args=["sales_report"])).content.decode()

    assert 'inputmode="decimal"' in page
    shown = page.split('name="threshold" value="', 1)[1].split('"')[0]
    assert Decimal(shown.replace(",", ".")) == Decimal("2500")


def test_titles_descriptions_and_help_texts_from_code_are_translated(french, demo):
    home = french.get("/").content.decode()
    form = french.get(reverse("workflows:run", args=["sales_report"])).content.decode()
    detail = french.get(reverse("workflows:detail", args=["sales_report"])).content.decode()

    assert ">Rapport des ventes</a>" in home
    assert "Établit le résumé quotidien des ventes" in home
    assert "Rapport des ventes" in form
    assert "Région des ventes" in form and "Nombre de magasins à lister" in form
    assert "<h1>Rapport des ventes" in detail
    assert Workflow.objects.get(pk=demo.pk).title == "Sales report"  # stored in English


def test_retry_and_run_again_are_two_words_in_french(french, demo):
    run = make_run(demo, state="failed", tasks={"fetch_sales": "failed"})

    page = french.get(reverse("runs:detail", args=[run.pk])).content.decode()

    assert "Relancer les tâches en échec" in page
    assert "Réexécuter avec ces paramètres…" in page
    assert "Relancer avec ces paramètres" not in page
