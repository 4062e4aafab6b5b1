"""GET /runs/{id}/tasks/{task}/log: reading an attempt's log from an offset, to tail it."""

import time

import pytest

from runs.models import TaskLogChunk, TaskRun
from runs.testing import in_process_worker, use_workflows
from tests.api_world import ENGINE_WORKFLOWS, build_world


@pytest.fixture
def world(db):
    with use_workflows(ENGINE_WORKFLOWS):
        yield build_world()


def write_log(task: TaskRun, attempt: int, *pieces: str) -> None:
    start = TaskLogChunk.objects.filter(task_run=task, attempt=attempt).count()
    for seq, text in enumerate(pieces, start=start):
        TaskLogChunk.objects.create(task_run=task, attempt=attempt, seq=seq, text=text)


def test_a_client_tails_a_running_tasks_log_with_offsets(world):
    run = world.start()
    task = TaskRun.objects.get(run=run, task_name="produce")
    TaskRun.objects.filter(pk=task.pk).update(state="running", attempt=1)
    viewer = world.api("viewer")
    url = f"/runs/{run.pk}/tasks/produce/log"

    write_log(task, 1, "line 1\n", "line 2\n")
    first = viewer.get(url).json()
    assert first == {
        "task": "produce",
        "attempt": 1,
        "offset": 0,
        "next_offset": 2,
        "text": "line 1\nline 2\n",
        "complete": False,
    }

    nothing_new = viewer.get(url, {"attempt": 1, "offset": 2}).json()
    assert (nothing_new["text"], nothing_new["next_offset"]) == ("", 2)

    write_log(task, 1, "line 3\n")
    TaskRun.objects.filter(pk=task.pk).update(state="success")
    last = viewer.get(url, {"attempt": 1, "offset": 2}).json()
    assert (last["text"], last["next_offset"], last["complete"]) == ("line 3\n", 3, True)


def test_it_reads_an_earlier_attempt_and_defaults_to_the_latest(world):
    run = world.start()
    task = TaskRun.objects.get(run=run, task_name="produce")
    TaskRun.objects.filter(pk=task.pk).update(state="running", attempt=2)
    write_log(task, 1, "first try failed\n")
    write_log(task, 2, "second try\n")
    viewer = world.api("viewer")

    earlier = viewer.get(f"/runs/{run.pk}/tasks/produce/log", {"attempt": 1}).json()
    latest = viewer.get(f"/runs/{run.pk}/tasks/produce/log").json()

    assert (earlier["text"], earlier["complete"]) == ("first try failed\n", True)
    assert (latest["attempt"], latest["text"], latest["complete"]) == (2, "second try\n", False)


def test_a_task_that_has_not_started_has_an_empty_log_still_to_come(world):
    run = world.start()

    body = world.api("viewer").get(f"/runs/{run.pk}/tasks/consume/log").json()

    assert (body["attempt"], body["text"], body["next_offset"], body["complete"]) == (
        1,
        "",
        0,
        False,
    )


def test_an_attempt_not_started_yet_is_a_422(world):
    run = world.start()

    response = world.api("viewer").get(f"/runs/{run.pk}/tasks/consume/log", {"attempt": 3})

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "attempt": ["Task 'consume' has started 0 attempt(s) so far."]
    }


def test_a_negative_offset_is_a_422(world):
    run = world.start()

    response = world.api("viewer").get(f"/runs/{run.pk}/tasks/consume/log", {"offset": -1})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["offset"]


def test_the_log_of_an_unseen_run_or_unknown_task_is_a_404(world):
    run = world.start()

    unseen = world.api("stranger").get(f"/runs/{run.pk}/tasks/produce/log")
    unknown = world.api("viewer").get(f"/runs/{run.pk}/tasks/nope/log")

    assert (unseen.status_code, unseen.json()["detail"]) == (404, "No such run.")
    assert unknown.status_code == 404


@pytest.fixture
def engine(transactional_db):
    with use_workflows(ENGINE_WORKFLOWS), in_process_worker(threads=2):
        yield build_world()


def test_a_script_starts_a_run_polls_it_and_reads_the_log(engine):
    admin = engine.api("admin")

    started = admin.post("/workflows/two_at_once/runs", {"parameters": {"lines": 3}})
    assert started.status_code == 201
    run_url = started["Location"].removeprefix("/api/v1")
    deadline = time.monotonic() + 20
    while (run := admin.get(run_url).json())["state"] not in ("success", "failed", "cancelled"):
        assert time.monotonic() < deadline, run
        time.sleep(0.05)

    assert run["state"] == "success"
    log = admin.get(f"{run_url}/tasks/left/log").json()
    assert log["complete"] is True
    assert "left print 2" in log["text"]
    assert "right" not in log["text"]
