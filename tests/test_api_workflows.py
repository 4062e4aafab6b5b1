"""GET /workflows, GET /workflows/{slug}, POST /workflows/{slug}/pause and /unpause."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from accounts.roles import Role
from accounts.testing import give_role, make_workflow
from runs.testing import use_workflows
from tests.api_world import ENGINE_WORKFLOWS, build_world, finish
from workflows.models import Workflow, WorkflowSchedule
from workflows.schedules import BATON_TASK


@pytest.fixture
def world(db):
    with use_workflows(ENGINE_WORKFLOWS):
        yield build_world()


def schedule_daily(workflow: Workflow, hour: int) -> WorkflowSchedule:
    crontab = CrontabSchedule.objects.create(minute="0", hour=str(hour), timezone="UTC")
    task = PeriodicTask.objects.create(
        name=f"{workflow.slug} at {hour}", task=BATON_TASK, crontab=crontab
    )
    return WorkflowSchedule.objects.create(periodic_task=task, workflow=workflow)


@time_machine.travel(datetime(2026, 5, 4, 12, 0, tzinfo=UTC), tick=False)
def test_it_lists_a_workflow_with_parameters_schedule_next_and_last_run(world):
    schedule_daily(world.workflow, 3)
    world.start(n=1)
    finish(world.start(n=2), "failed")

    response = world.api("viewer").get("/workflows")

    assert response.status_code == 200
    [item] = response.json()
    assert item["slug"] == "data_edge"
    assert item["parameter_schema"]["properties"]["n"]["type"] == "integer"
    assert item["schedules"] == [
        {
            "name": "data_edge at 3",
            "text": item["schedules"][0]["text"],
            "next_run_at": "2026-05-05T03:00:00Z",
            "enabled": True,
        }
    ]
    assert "03:00" in item["schedules"][0]["text"]
    assert item["next_run_at"] == "2026-05-05T03:00:00Z"
    assert item["last_run_state"] == "failed"
    assert item["last_run"]["number"] == 2
    assert (item["is_paused"], item["is_active"]) == (False, True)


def test_it_lists_only_the_workflows_the_caller_may_see(world):
    assert [w["slug"] for w in world.api("stranger").get("/workflows").json()] == []
    slugs = [w["slug"] for w in world.api("admin").get("/workflows").json()]
    assert {"data_edge", "single"} <= set(slugs)
    assert slugs == sorted(slugs)


def test_it_filters_by_tag_paused_and_search(world):
    Workflow.objects.filter(slug="single").update(tags=["billing"], is_paused=True)
    Workflow.objects.filter(slug="data_edge").update(tags=["reports"], title="Numbers edge")
    admin = world.api("admin")

    def slugs(**params):
        response = admin.get("/workflows", params)
        assert response.status_code == 200, response.content
        return [w["slug"] for w in response.json()]

    assert slugs(tag="billing") == ["single"]
    assert slugs(tag="billing", paused="false") == []
    assert "single" not in slugs(paused="false")
    assert slugs(paused="true") == ["single"]
    assert slugs(search="NUMBERS") == ["data_edge"]


def test_it_lists_workflows_in_a_constant_number_of_queries(world):
    viewer = world.api("viewer")

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert viewer.get("/workflows").status_code == 200
        return len(queries)

    world.start(n=1)
    count_queries()  # the token's first use records when it was used
    few = count_queries()
    for number in range(5):
        workflow = make_workflow(f"extra_{number}")
        give_role(world.users["viewer"], Role.VIEWER, workflow)
        schedule_daily(workflow, number)
        finish(world.start(), "success")
    assert len(world.api("viewer").get("/workflows").json()) == 6
    assert count_queries() == few


def test_it_shows_one_workflow_with_its_tasks(world):
    response = world.api("viewer").get("/workflows/data_edge")

    assert response.status_code == 200
    body = response.json()
    assert body["tasks"] == [
        {"name": "produce", "kind": "python", "upstream": []},
        {"name": "consume", "kind": "python", "upstream": ["produce"]},
    ]
    assert body["last_run"] is None


def test_an_unseen_workflow_answers_like_a_missing_one(world):
    unseen = world.api("stranger").get("/workflows/data_edge")
    missing = world.api("stranger").get("/workflows/no_such_workflow")

    assert unseen.status_code == missing.status_code == 404
    assert unseen.json() == missing.json() == {"detail": "No such workflow.", "errors": {}}


def test_an_editor_pauses_and_unpauses_a_workflow(world):
    editor = world.api("editor")

    paused = editor.post("/workflows/data_edge/pause")
    assert paused.status_code == 200
    assert paused.json()["is_paused"] is True
    assert Workflow.objects.get(slug="data_edge").is_paused

    again = editor.post("/workflows/data_edge/pause")
    assert again.status_code == 200  # idempotent

    unpaused = editor.post("/workflows/data_edge/unpause")
    assert unpaused.status_code == 200
    assert unpaused.json()["is_paused"] is False
    assert not Workflow.objects.get(slug="data_edge").is_paused


@pytest.mark.parametrize("who", ["viewer", "operator"])
def test_pausing_needs_the_change_right(world, who):
    response = world.api(who).post("/workflows/data_edge/pause")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "You may see workflow 'data_edge' but not change it.",
        "errors": {},
    }
    assert not Workflow.objects.get(slug="data_edge").is_paused


def test_pausing_an_unseen_workflow_is_a_404(world):
    response = world.api("stranger").post("/workflows/data_edge/unpause")

    assert response.status_code == 404
    assert response.json()["detail"] == "No such workflow."


def test_a_malformed_slug_is_a_422(world):
    response = world.api("viewer").get("/workflows/bad%20slug")

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["slug"]
