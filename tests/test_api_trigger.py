"""POST /workflows/{slug}/runs: start a run, its validation, refusals and the Idempotency-Key."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import ApiIdempotencyKey
from runs.models import WorkflowRun
from runs.testing import use_workflows
from tests.api_world import ENGINE_WORKFLOWS, build_world
from workflows.models import Workflow


@pytest.fixture
def world(db):
    with use_workflows(ENGINE_WORKFLOWS):
        yield build_world()


def test_it_starts_a_run_and_answers_201_with_it(world):
    response = world.api("operator").post("/workflows/data_edge/runs", {"parameters": {"n": 7}})

    assert response.status_code == 201
    run = WorkflowRun.objects.get()
    assert response["Location"] == f"/api/v1/runs/{run.pk}"
    body = response.json()
    assert body["id"] == run.pk
    assert body["workflow"] == "data_edge"
    assert (body["number"], body["state"], body["trigger"]) == (1, "running", "api")
    assert body["parameters"] == {"n": 7}
    assert body["started_by"] == "operator"
    assert [(t["name"], t["state"]) for t in body["tasks"]] == [
        ("produce", "queued"),
        ("consume", "pending"),
    ]


def test_it_fills_defaults_when_the_body_is_empty(world):
    response = world.api("operator").post("/workflows/data_edge/runs")

    assert response.status_code == 201
    assert response.json()["parameters"] == {"n": 4}


def test_invalid_parameters_get_the_form_messages_per_field(world):
    response = world.api("operator").post(
        "/workflows/data_edge/runs", {"parameters": {"n": "many", "colour": "red"}}
    )

    assert response.status_code == 422
    assert response.json() == {
        "detail": "Invalid parameters: see errors.",
        "errors": {
            "n": ["Enter a whole number."],
            "colour": ["Unknown parameter: this workflow has no parameter named 'colour'."],
        },
    }
    assert not WorkflowRun.objects.exists()


def test_a_paused_workflow_still_starts_a_run_asked_for_by_hand(world):
    Workflow.objects.filter(slug="data_edge").update(is_paused=True)

    response = world.api("operator").post("/workflows/data_edge/runs", {"parameters": {"n": 3}})

    assert response.status_code == 201  # pausing stops the schedule only
    run = WorkflowRun.objects.get()
    assert (run.trigger, run.parameters, run.started_by) == (
        "api",
        {"n": 3},
        world.users["operator"],
    )
    assert Workflow.objects.get(slug="data_edge").is_paused


def test_a_workflow_removed_from_code_answers_409(world):
    Workflow.objects.filter(slug="data_edge").update(is_active=False)

    response = world.api("operator").post("/workflows/data_edge/runs", {"parameters": {}})

    assert response.status_code == 409
    assert "was removed from the code" in response.json()["detail"]


def test_a_viewer_may_not_start_a_run(world):
    response = world.api("viewer").post("/workflows/data_edge/runs", {"parameters": {}})

    assert response.status_code == 403
    assert response.json()["detail"] == "You may see workflow 'data_edge' but not start runs of it."
    assert not WorkflowRun.objects.exists()


def test_a_stranger_gets_404_for_a_workflow_they_cannot_see(world):
    response = world.api("stranger").post("/workflows/data_edge/runs", {"parameters": {}})

    assert response.status_code == 404
    assert response.json() == {"detail": "No such workflow.", "errors": {}}


def test_the_same_idempotency_key_returns_the_first_run(world):
    operator = world.api("operator")
    request = {"parameters": {"n": 2}}

    first = operator.post("/workflows/data_edge/runs", request, **{"Idempotency-Key": "abc-1"})
    again = operator.post("/workflows/data_edge/runs", request, **{"Idempotency-Key": "abc-1"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again["Location"] == first["Location"]
    assert WorkflowRun.objects.count() == 1


def test_a_key_counts_per_user_and_per_workflow(world):
    headers = {"Idempotency-Key": "nightly"}
    world.api("operator").post("/workflows/data_edge/runs", {}, **headers)
    by_admin = world.api("admin").post("/workflows/data_edge/runs", {}, **headers)
    other_workflow = world.api("admin").post("/workflows/single/runs", {}, **headers)

    assert (by_admin.status_code, other_workflow.status_code) == (201, 201)
    assert WorkflowRun.objects.count() == 3


def test_a_key_reused_with_other_parameters_is_refused(world):
    operator = world.api("operator")
    operator.post("/workflows/data_edge/runs", {"parameters": {"n": 1}}, **{"Idempotency-Key": "k"})

    response = operator.post(
        "/workflows/data_edge/runs", {"parameters": {"n": 2}}, **{"Idempotency-Key": "k"}
    )

    assert response.status_code == 422
    assert response.json() == {
        "detail": "Idempotency-Key reused with different parameters.",
        "errors": {
            "Idempotency-Key": ["This key was already used with other parameters; use a new key."]
        },
    }
    assert WorkflowRun.objects.count() == 1


def test_a_key_expires_after_a_day(world):
    operator = world.api("operator")
    operator.post("/workflows/data_edge/runs", {}, **{"Idempotency-Key": "daily"})

    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        later = operator.post("/workflows/data_edge/runs", {}, **{"Idempotency-Key": "daily"})

    assert later.status_code == 201
    assert WorkflowRun.objects.count() == 2
    assert ApiIdempotencyKey.objects.get().run_id == later.json()["id"]


def test_a_refused_request_does_not_use_up_its_key(world):
    operator = world.api("operator")
    bad = operator.post(
        "/workflows/data_edge/runs", {"parameters": {"n": "x"}}, **{"Idempotency-Key": "retry-me"}
    )
    good = operator.post(
        "/workflows/data_edge/runs", {"parameters": {"n": "x"}}, **{"Idempotency-Key": "retry-me"}
    )

    assert (bad.status_code, good.status_code) == (422, 422)
    assert not ApiIdempotencyKey.objects.exists()


def test_an_unprintable_idempotency_key_is_refused(world):
    response = world.api("operator").post(
        "/workflows/data_edge/runs", {}, **{"Idempotency-Key": "has space"}
    )

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["Idempotency-Key"]
