"""The run form: fields from the signature, messages beside fields, "run again" pre-fill."""

import re

import pytest
from django.urls import reverse

from runs.models import WorkflowRun
from workflows.models import Workflow

from .pages_world import make_run, page_world


@pytest.fixture
def world(db, tmp_path):
    with page_world(tmp_path) as built:
        yield built


URL = reverse("workflows:run", args=["report"])


def error_beside(page: str, field: str) -> str:
    """The text of the error list rendered in the field's own block."""
    block = re.search(
        rf'<div class="field[^"]*">(?:(?!<div class="field).)*id="id_{field}"'
        r"(?:(?!<div class=\"field).)*",
        page,
        re.S,
    )
    assert block, f"no field {field}"
    errors = re.search(r'<ul class="errorlist"[^>]*>(.*?)</ul>', block[0], re.S)
    return re.sub(r"<[^>]+>", " ", errors[1]).strip() if errors else ""


def test_it_shows_one_labelled_field_per_parameter_with_help_and_default(client, world):
    client.force_login(world.operator)

    page = client.get(URL).content.decode()

    assert '<label for="id_region">Region' in page
    assert '<option value="north" selected>north</option>' in page
    assert re.search(
        r'<input type="number" name="top" value="3"[^>]*aria-describedby="id_top_helptext"', page
    )
    assert '<span class="help" id="id_top_helptext">How many rows to add up</span>' in page
    assert re.search(r'<input type="date" name="day"', page)
    assert re.search(r'<input type="checkbox" name="dry_run"[^>]*checked', page)


def test_an_invalid_value_shows_its_message_beside_the_field_and_starts_nothing(client, world):
    client.force_login(world.operator)

    response = client.post(URL, {"region": "east", "top": "2.5", "dry_run": "on"})

    page = response.content.decode()
    assert response.status_code == 400
    assert "The run was not started." in page
    assert "Enter a whole number." in error_beside(page, "top")
    assert "is not a valid choice" in error_beside(page, "region")
    assert error_beside(page, "day") == ""
    assert 'value="2.5"' in page  # what was typed is kept
    assert not WorkflowRun.objects.exists()


def test_a_valid_form_starts_the_run_and_lands_on_its_page(client, world):
    client.force_login(world.operator)

    response = client.post(URL, {"region": "south", "top": "2", "day": "2024-03-01"})

    run = WorkflowRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("runs:detail", args=[run.pk])
    assert run.started_by == world.operator
    assert run.trigger == "manual"
    assert run.parameters == {"region": "south", "top": 2, "day": "2024-03-01", "dry_run": False}


def test_run_again_fills_the_form_with_the_values_of_that_run(client, world):
    old = make_run(world.report, parameters={"region": "south", "top": 7, "dry_run": False})
    client.force_login(world.operator)

    page = client.get(f"{URL}?from_run={old.pk}").content.decode()

    assert f'The form holds the values of <a href="/runs/{old.pk}/">run #{old.number}</a>' in page
    assert '<option value="south" selected>south</option>' in page
    assert re.search(r'name="top" value="7"', page)
    assert not re.search(r'<input type="checkbox" name="dry_run"[^>]*checked', page)
    assert "New since that run: Day." in page


def test_run_again_names_a_parameter_that_no_longer_exists(client, world):
    old = make_run(world.report, parameters={"region": "north", "top": 3, "colour": "red"})
    client.force_login(world.operator)

    page = client.get(f"{URL}?from_run={old.pk}").content.decode()

    assert (
        "These parameters of that run no longer exist in this workflow; they are left out:" in page
    )
    assert "<code>colour</code> = red" in page


def test_run_again_flags_a_value_whose_parameter_changed_type(client, world):
    # "top" was text in an older version of the code; it is a whole number now.
    old = make_run(world.report, parameters={"region": "north", "top": "a few"})
    client.force_login(world.operator)

    page = client.get(f"{URL}?from_run={old.pk}").content.decode()

    message = error_beside(page, "top")
    assert f"Run #{old.number} used “a few” here, which no longer fits:" in message
    assert "Enter a whole number." in message
    assert "Some values no longer fit this workflow" in page


def test_run_again_from_an_unknown_run_shows_the_defaults_with_a_message(client, world):
    client.force_login(world.operator)

    for bad in ("999999", "abc"):
        page = client.get(f"{URL}?from_run={bad}").content.decode()
        assert f"This workflow has no run “{bad}” to copy" in page
        assert re.search(r'name="top" value="3"', page)


def test_run_again_refuses_a_run_of_another_workflow(client, world):
    other = make_run(world.cleanup, parameters={"folder": "/srv"})
    client.force_login(world.root)

    page = client.get(f"{URL}?from_run={other.pk}").content.decode()

    assert "This workflow has no run" in page


@pytest.mark.parametrize("who, status", [("viewer", 403), ("stranger", 404)])
def test_it_refuses_the_form_to_those_who_may_not_start_runs(client, world, who, status):
    client.force_login(getattr(world, who))

    assert client.get(URL).status_code == status
    assert client.post(URL, {"region": "north"}).status_code == status
    assert not WorkflowRun.objects.exists()


def test_it_explains_why_a_workflow_removed_from_the_code_cannot_run(client, world):
    Workflow.objects.filter(slug="report").update(is_active=False)
    client.force_login(world.operator)

    response = client.get(URL)

    assert response.status_code == 409
    assert "was removed from the code" in response.content.decode()


def test_it_lets_people_start_a_paused_workflow_by_hand(client, world):
    Workflow.objects.filter(slug="report").update(is_paused=True)
    client.force_login(world.operator)

    form = client.get(URL).content.decode()
    response = client.post(URL, {"region": "north", "top": "1"})

    assert (
        "This workflow is paused: its schedule starts no run. You can still start one by hand."
        in form
    )
    assert response.status_code == 302
    run = WorkflowRun.objects.get()
    assert (run.trigger, run.started_by, run.parameters["top"]) == ("manual", world.operator, 1)
    assert Workflow.objects.get(slug="report").is_paused
