"""GET /runs (filters, cursor pagination), GET /runs/{id}, and the run actions."""

import base64
import json
from datetime import UTC, datetime

import pytest

from runs.models import TaskRun, WorkflowRun
from runs.testing import use_workflows
from tests.api_world import ENGINE_WORKFLOWS, build_world, finish


@pytest.fixture
def world(db):
    with use_workflows(ENGINE_WORKFLOWS):
        yield build_world()


def encode(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [run["id"] for run in response.json()["items"]]


def test_it_lists_the_runs_of_visible_workflows_newest_first(world):
    first, second = world.start(n=1), world.start(n=2)
    world.start(world.other)

    assert ids(world.api("viewer").get("/runs")) == [second.pk, first.pk]
    assert ids(world.api("stranger").get("/runs")) == []
    assert len(ids(world.api("admin").get("/runs"))) == 3


def test_it_filters_runs_by_workflow_state_and_date(world):
    old, failed = world.start(), finish(world.start(), "failed")
    WorkflowRun.objects.filter(pk=old.pk).update(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    single = world.start(world.other)
    admin = world.api("admin")

    assert ids(admin.get("/runs", {"workflow": "single"})) == [single.pk]
    assert ids(admin.get("/runs", {"state": "failed"})) == [failed.pk]
    assert ids(admin.get("/runs", {"created_before": "2026-01-02T00:00:00Z"})) == [old.pk]
    after = admin.get("/runs", {"created_after": "2026-01-02T00:00:00Z", "workflow": "data_edge"})
    assert ids(after) == [failed.pk]


def test_cursor_pagination_walks_every_run_once(world):
    runs = [world.start() for _ in range(7)]
    # Two runs created in the same microsecond: the id breaks the tie.
    same = datetime(2026, 2, 1, tzinfo=UTC)
    WorkflowRun.objects.filter(pk__in=[runs[2].pk, runs[3].pk]).update(created_at=same)
    admin = world.api("admin")

    seen, cursor, pages = [], None, 0
    while True:
        params = {"page_size": 3, **({"cursor": cursor} if cursor else {})}
        response = admin.get("/runs", params)
        seen += ids(response)
        pages += 1
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    expected = WorkflowRun.objects.order_by("-created_at", "-pk").values_list("pk", flat=True)
    assert seen == list(expected)
    assert pages == 3


def test_a_run_created_while_paging_does_not_shift_the_pages(world):
    for _ in range(4):
        world.start()
    admin = world.api("admin")
    first = admin.get("/runs", {"page_size": 2}).json()

    world.start()  # newer than every listed run
    second = admin.get("/runs", {"page_size": 2, "cursor": first["next_cursor"]})

    assert set(ids(second)).isdisjoint(run["id"] for run in first["items"])
    assert len(ids(second)) == 2


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        encode(["2026-01-01T00:00:00", 1]),  # no offset
        encode(["2026-01-01T00:00:00+00:00", 2**70]),  # beyond any id
        encode({"created": "2026-01-01T00:00:00+00:00"}),
    ],
)
def test_a_mangled_cursor_is_a_422(world, cursor):
    response = world.api("admin").get("/runs", {"cursor": cursor})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["cursor"]


def test_an_unknown_state_filter_is_a_422(world):
    response = world.api("admin").get("/runs", {"state": "exploded"})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["state"]


def test_it_shows_a_run_with_its_tasks_and_attempts(world):
    run = finish(world.start(n=3), "failed", produce="success", consume="failed")
    task = TaskRun.objects.get(run=run, task_name="consume")
    task.attempts.create(number=1, state="failed", error="boom")

    response = world.api("viewer").get(f"/runs/{run.pk}")

    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["is_finished"], body["parameters"]) == ("failed", True, {"n": 3})
    assert [(t["name"], t["state"]) for t in body["tasks"]] == [
        ("produce", "success"),
        ("consume", "failed"),
    ]
    assert body["tasks"][1]["attempts"][0]["error"] == "boom"


def test_an_unseen_run_answers_like_a_missing_one(world):
    run = world.start()

    unseen = world.api("stranger").get(f"/runs/{run.pk}")
    missing = world.api("stranger").get(f"/runs/{run.pk + 1000}")

    assert unseen.status_code == missing.status_code == 404
    assert unseen.json() == missing.json() == {"detail": "No such run.", "errors": {}}


def test_an_editor_cancels_a_running_run(world):
    run = world.start()

    response = world.api("editor").post(f"/runs/{run.pk}/cancel")

    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    assert set(run.task_runs.values_list("state", flat=True)) == {"cancelled"}


def test_cancelling_a_finished_run_is_a_409(world):
    run = finish(world.start(), "success", produce="success", consume="success")

    response = world.api("editor").post(f"/runs/{run.pk}/cancel")

    assert response.status_code == 409
    assert response.json()["detail"] == (
        "Run #1 has already ended (success): there is nothing to cancel."
    )


def test_an_editor_retries_the_failed_tasks_of_a_run(world):
    run = finish(world.start(), "failed", produce="success", consume="failed")

    response = world.api("editor").post(f"/runs/{run.pk}/retry")

    assert response.status_code == 200
    body = response.json()
    assert body["retried"] == 1
    assert body["state"] in ("queued", "running")
    assert dict(run.task_runs.values_list("task_name", "state")) == {
        "produce": "success",
        "consume": "queued",  # its upstream succeeded: it goes to a worker at once
    }


def test_retrying_a_running_run_is_a_409(world):
    run = world.start()

    response = world.api("editor").post(f"/runs/{run.pk}/retry")

    assert response.status_code == 409
    assert "only a failed or cancelled run" in response.json()["detail"]


def test_an_editor_retries_one_task_and_its_downstream(world):
    run = finish(world.start(), "success", produce="success", consume="success")

    response = world.api("editor").post(f"/runs/{run.pk}/tasks/produce/retry")

    assert response.status_code == 200
    assert response.json()["retried"] == 2
    assert TaskRun.objects.get(run=run, task_name="produce").state in ("pending", "queued")


def test_retrying_an_unknown_task_is_a_404(world):
    run = world.start()

    response = world.api("editor").post(f"/runs/{run.pk}/tasks/nope/retry")

    assert response.status_code == 404
    assert response.json()["detail"] == "Run #1 of data_edge has no task 'nope'."


def test_an_editor_marks_a_task_with_a_reason(world):
    run = finish(world.start(), "failed", produce="success", consume="failed")

    response = world.api("editor").post(
        f"/runs/{run.pk}/tasks/consume/mark", {"state": "success", "reason": "fixed by hand"}
    )

    assert response.status_code == 200
    assert response.json()["state"] == "success"
    task = TaskRun.objects.get(run=run, task_name="consume")
    assert task.state == "success"
    assert task.note == "Marked success by editor: fixed by hand"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"state": "success"}, "reason"),
        ({"state": "success", "reason": "   "}, "reason"),  # "Say why you mark this task."
        ({"state": "running", "reason": "why not"}, "state"),
    ],
)
def test_marking_needs_a_reason_and_a_final_state(world, body, field):
    run = world.start()

    response = world.api("editor").post(f"/runs/{run.pk}/tasks/consume/mark", body)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]
    assert TaskRun.objects.get(run=run, task_name="consume").state == "pending"


@pytest.mark.parametrize(
    "action, body",
    [
        ("cancel", None),
        ("retry", None),
        ("tasks/produce/retry", None),
        ("tasks/produce/mark", {"state": "failed", "reason": "no"}),
    ],
)
def test_run_actions_need_the_change_right(world, action, body):
    run = finish(world.start(), "failed", produce="failed", consume="upstream_failed")

    forbidden = world.api("operator").post(f"/runs/{run.pk}/{action}", body)
    unseen = world.api("stranger").post(f"/runs/{run.pk}/{action}", body)

    assert forbidden.status_code == 403
    assert forbidden.json()["detail"] == "You may see workflow 'data_edge' but not change it."
    assert unseen.status_code == 404
    assert unseen.json()["detail"] == "No such run."
    run.refresh_from_db()
    assert run.state == "failed"


def test_a_run_id_beyond_any_integer_is_a_422_not_a_crash(world):
    response = world.api("admin").get(f"/runs/{2**70}")

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["run_id"]


@pytest.mark.parametrize("moment", ["2026-03-01", "2026-03-01T00:00:00", "0.5", "yesterday"])
def test_date_filters_need_a_date_and_time_with_offset(world, moment):
    response = world.api("admin").get("/runs", {"created_after": moment})

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "created_after": ["Give a date and time with its offset, e.g. 2026-01-31T08:00:00Z."]
    }


def test_date_filters_take_any_offset(world):
    run = world.start()
    WorkflowRun.objects.filter(pk=run.pk).update(created_at=datetime(2026, 3, 1, 0, 30, tzinfo=UTC))
    admin = world.api("admin")

    assert ids(admin.get("/runs", {"created_after": "2026-03-01T01:00:00+01:00"})) == [run.pk]
    assert ids(admin.get("/runs", {"created_before": "2026-03-01T01:00:00+01:00"})) == []


def test_it_gives_the_code_version_each_run_is_pinned_to(world):
    run = world.start()
    version = run.version
    assert version is not None

    listed = world.api("viewer").get("/runs").json()["items"][0]
    detail = world.api("viewer").get(f"/runs/{run.pk}").json()

    expected = {
        "id": version.pk,
        "code_hash": version.code_hash,
        "origin": version.origin,
        "revision": version.revision,
        "commit_message": version.commit_message,
        "committed_at": None,
    }
    assert listed["version"] == expected
    assert detail["version"] == expected
