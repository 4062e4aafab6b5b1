"""Presets: Owners save named parameter sets; Preset runners start runs from them as they are."""

import pytest
from django.urls import reverse

from accounts import permissions
from accounts.roles import Role, role_for_permissions
from accounts.testing import give_role, make_user
from audit.models import AuditEvent
from runs.models import WorkflowRun
from workflows.errors import ParameterErrors
from workflows.models import ParameterPreset
from workflows.presets import PresetRefused, preset_problems, preset_save
from workflows.registry import get_registry

from .pages_world import page_world


@pytest.fixture
def world(db, tmp_path):
    with page_world(tmp_path) as built:
        built.runner = make_user("runner")
        give_role(built.runner, "runner", built.report)
        yield built


def schema_of(workflow):
    return get_registry().get(workflow.slug).parameters


def save(world, name="South, top 2", **values):
    values = values or {"region": "south", "top": 2}
    return preset_save(
        workflow=world.report,
        name=name,
        values=values,
        schema=schema_of(world.report),
        user=world.owner,
    )


def test_an_owner_saves_a_preset_checked_and_audited(world):
    preset = save(world)

    assert preset.parameters == {"region": "south", "top": 2, "day": None, "dry_run": True}
    assert preset.saved_by == world.owner
    event = AuditEvent.objects.get(verb="preset.saved")
    assert event.details["new"] == preset.parameters and event.details["old"] is None


def test_saving_under_the_same_name_replaces_it_and_records_the_old_values(world):
    first = save(world)
    second = save(world, region="north", top=1)

    assert second.pk == first.pk and ParameterPreset.objects.count() == 1
    event = AuditEvent.objects.filter(verb="preset.saved").order_by("-id").first()
    assert event.details["old"]["region"] == "south" and event.details["new"]["region"] == "north"


def test_a_preset_that_could_not_start_a_run_is_refused(world):
    with pytest.raises(ParameterErrors) as refused:
        save(world, region="east", top=1)

    assert "region" in refused.value.errors
    assert not ParameterPreset.objects.exists()


@pytest.mark.parametrize("name, words", [("  ", "Give the preset a name"), ("x" * 101, "at most")])
def test_a_blank_or_long_name_is_refused(world, name, words):
    with pytest.raises(PresetRefused, match=words):
        save(world, name=name)

    assert not ParameterPreset.objects.exists()


def test_a_preset_is_checked_against_the_current_form(world):
    preset = save(world)
    preset.parameters = {**preset.parameters, "top": "many", "gone": 1}

    problems = preset_problems(preset, schema_of(world.report))

    assert problems[0] == "“gone” is no longer a parameter of this workflow."
    assert problems[1] == "Top: Enter a whole number."


def test_the_preset_runner_role_reads_back_and_implies_nothing_more(world):
    access = permissions.access_of(world.runner, world.report)

    assert access.may_trigger_presets and not access.may_trigger and not access.may_change
    assert role_for_permissions(Role.RUNNER.permissions) == Role.RUNNER
    # Operators and above start runs from presets too, and their role reads as before.
    operator = permissions.access_of(world.operator, world.report)
    assert operator.may_trigger_presets
    assert role_for_permissions(Role.OPERATOR.permissions) == Role.OPERATOR
    runnable = set(permissions.workflows_for(world.runner, "trigger_presets"))
    assert runnable == {world.report}
    assert set(permissions.workflows_for(world.operator, "trigger_presets")) == {world.report}


def test_a_runner_starts_a_run_from_a_preset_as_it_is(client, world):
    preset = save(world)
    client.force_login(world.runner)
    url = reverse("workflows:run", args=["report"])

    page = client.get(url).content.decode()
    response = client.post(url, {"preset": preset.pk, "region": "north", "top": 99})

    assert "South, top 2" in page and 'name="top"' not in page
    run = WorkflowRun.objects.get()
    assert response.status_code == 302 and run.started_by == world.runner
    assert run.parameters["region"] == "south" and run.parameters["top"] == 2
    assert run.note == "From the preset “South, top 2”."


def test_a_runner_cannot_start_a_preset_that_no_longer_fits(client, world):
    preset = save(world)
    ParameterPreset.objects.filter(pk=preset.pk).update(parameters={"region": "east"})
    client.force_login(world.runner)

    response = client.post(reverse("workflows:run", args=["report"]), {"preset": preset.pk})

    assert response.status_code == 400
    assert "no longer fits this workflow" in response.content.decode()
    assert not WorkflowRun.objects.exists()


def test_a_runner_cannot_post_values_without_a_preset(client, world):
    client.force_login(world.runner)

    response = client.post(reverse("workflows:run", args=["report"]), {"region": "north"})

    assert response.status_code == 400
    assert not WorkflowRun.objects.exists()


def test_an_owner_saves_a_preset_from_the_run_form(client, world):
    client.force_login(world.owner)
    url = reverse("workflows:run", args=["report"])
    data = {"region": "south", "top": "2", "preset_name": "Monthly south", "save_preset": "1"}

    response = client.post(url, data)

    preset = ParameterPreset.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"?preset={preset.pk}")
    assert preset.name == "Monthly south" and preset.parameters["region"] == "south"
    assert not WorkflowRun.objects.exists()
    form = client.get(response["Location"]).content.decode()
    assert "holds the values of the preset “Monthly south”" in form


def test_an_operator_cannot_save_a_preset(client, world):
    client.force_login(world.operator)
    data = {"region": "south", "top": "2", "preset_name": "Mine", "save_preset": "1"}

    client.post(reverse("workflows:run", args=["report"]), data)

    assert not ParameterPreset.objects.exists()
    assert (
        "Save as preset"
        not in client.get(reverse("workflows:run", args=["report"])).content.decode()
    )


def test_an_owner_deletes_a_preset_and_an_editor_may_not(client, world):
    preset = save(world)
    url = reverse("workflows:preset_delete", args=["report", preset.pk])
    client.force_login(world.editor)
    assert client.post(url).status_code == 403
    assert ParameterPreset.objects.exists()

    client.force_login(world.owner)
    client.post(url)

    assert not ParameterPreset.objects.exists()
    assert AuditEvent.objects.filter(verb="preset.deleted").count() == 1


def test_the_workflow_page_lists_presets_and_flags_those_that_no_longer_fit(client, world):
    preset = save(world)
    ParameterPreset.objects.filter(pk=preset.pk).update(parameters={"region": "east"})
    client.force_login(world.owner)

    page = client.get(reverse("workflows:detail", args=["report"])).content.decode()

    assert "South, top 2" in page and "No longer fits" in page
    assert "Region: “east” is not a valid choice. Choose one of: north, south." in page


# Session, user; the workflow; the runner's access (4); the presets with who saved them.
PRESETS_ONLY_FORM_QUERIES = 8


def test_the_presets_only_form_runs_a_constant_number_of_queries(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(world.runner)
    url = reverse("workflows:run", args=["report"])
    counts = []
    for name in ("one", "two", "three"):
        save(world, name=name)
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        counts.append(len(context.captured_queries))

    assert counts == [PRESETS_ONLY_FORM_QUERIES] * 3
