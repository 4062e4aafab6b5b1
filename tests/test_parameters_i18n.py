"""Parameter messages and type words speak the user's language; developer errors stay English."""

from datetime import date
from typing import Literal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import translation

from accounts.testing import give_role, make_user
from runs.services import ActionRefused, mark_task
from runs.testing import use_workflows
from workflows.models import Workflow

from .pages_world import write_workflows
from .test_pages_run_form import error_beside
from .test_parameters import definition_error, errors_for, schema_for

NBSP = "\u00a0"

SETTINGS_WORKFLOW = """
from typing import Annotated

from workflows import task, workflow


@task
def apply(options: dict, urgent: bool | None) -> str:
    return "ok"


@workflow
def tune(
    options: Annotated[dict, "Settings to apply"],
    urgent: Annotated[bool | None, "Jump the queue"] = None,
):
    \"\"\"Apply settings.\"\"\"
    apply(options, urgent)
"""


def test_an_invalid_whole_number_is_refused_in_french_beside_the_field():
    schema = schema_for(int)

    with translation.override("fr"):
        errors = errors_for(schema, {"value": "x"})

    assert errors == {"value": ["Saisissez un nombre entier."]}


@pytest.mark.parametrize(
    ("hint", "raw", "message"),
    [
        (date, "31/01/2024", "Saisissez une date valide, par exemple 2024-01-31."),
        (bool, "maybe", "Saisissez true ou false."),
        (
            Literal["full", "delta"],
            "half",
            f"«{NBSP}half{NBSP}» n’est pas un choix valide. Choisissez parmi{NBSP}: full, delta.",
        ),
        (list[str], [1], f"Saisissez une liste de textes{NBSP}: l’élément 1 n’est pas du texte."),
        (
            dict,
            "5",
            'Saisissez un objet JSON entre accolades, par exemple {"key": "value"}, '
            "et non un nombre.",
        ),
        (dict, "NaN", f"Saisissez un objet JSON valide{NBSP}: NaN n’est pas une valeur JSON."),
    ],
)
def test_baton_s_own_messages_are_in_french(hint, raw, message):
    with translation.override("fr"):
        errors = errors_for(schema_for(hint), {"value": raw})

    assert errors == {"value": [message]}


def test_an_unknown_parameter_is_named_in_french():
    with translation.override("fr"):
        errors = errors_for(schema_for(int, 3), {"colour": "red"})

    assert errors == {
        "colour": [
            f"Paramètre inconnu{NBSP}: ce workflow n’a pas de paramètre nommé «{NBSP}colour{NBSP}»."
        ]
    }


@pytest.mark.django_db
def test_a_missing_row_is_refused_in_french():
    with translation.override("fr"):
        errors = errors_for(schema_for(Group), {"value": 987654})

    assert errors == {
        "value": [
            f"Choisissez un élément valide (groupe){NBSP}: «{NBSP}987654{NBSP}» n’existe pas "
            "ou ne peut pas être choisi ici."
        ]
    }


def test_messages_follow_the_language_of_each_validation_not_of_the_first():
    # The form class is built once per workflow and serves every language.
    schema = schema_for(Literal["full", "delta"], "delta")

    english = errors_for(schema, {"value": "half"})
    with translation.override("fr"):
        french = errors_for(schema, {"value": "half"})
    english_again = errors_for(schema, {"value": "half"})

    assert (
        english
        == english_again
        == {"value": ["“half” is not a valid choice. Choose one of: full, delta."]}
    )
    assert french["value"][0].endswith(f"Choisissez parmi{NBSP}: full, delta.")


@pytest.mark.parametrize(
    ("hint", "words"),
    [
        (int, "nombre entier"),
        (date, "date"),
        (bool, "oui ou non"),
        (list[str], "liste de textes, un élément par ligne"),
        (Literal["full", "delta"], f"au choix{NBSP}: full, delta"),
    ],
)
def test_type_words_are_in_french(hint, words):
    parameter = schema_for(hint)["value"]

    with translation.override("fr"):
        assert parameter.describe_type() == words


def test_a_definition_error_stays_in_english_for_developers():
    def nightly(day: date = "31/01/2024"):
        pass

    with translation.override("fr"):
        message = definition_error(nightly)

    assert message.endswith(
        "has a default '31/01/2024' that is not valid: Enter a valid date, like 2024-01-31."
    )


def test_a_refused_action_says_why_in_french():
    with translation.override("fr"), pytest.raises(ActionRefused) as refused:
        mark_task(task_run=None, state="bogus")

    assert str(refused.value) == (
        f"Une tâche peut être marquée comme réussie ou échouée, pas «{NBSP}bogus{NBSP}»."
    )


# --- On the run form page ---------------------------------------------------------------------


@pytest.fixture
def operator(db, tmp_path):
    with use_workflows(write_workflows(tmp_path / "settings_workflows", SETTINGS_WORKFLOW)):
        person = make_user("operator")
        give_role(person, "operator", Workflow.objects.get(slug="tune"))
        yield person


def test_the_run_form_page_shows_french_words_and_messages(client, operator):
    client.force_login(operator)
    url = reverse("workflows:run", args=["tune"])

    form = client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    response = client.post(url, {"options": "5", "urgent": ""}, HTTP_ACCEPT_LANGUAGE="fr")

    assert '<option value="true">Oui</option>' in form
    assert '<option value="false">Non</option>' in form
    assert response.status_code == 400
    page = response.content.decode()
    # "un nombre": what the user gave, in words, instead of a JSON object.
    braces = "{&quot;key&quot;: &quot;value&quot;}"
    assert error_beside(page, "options") == (
        f"Saisissez un objet JSON entre accolades, par exemple {braces}, et non un nombre."
    )
    assert "not a number" not in page
