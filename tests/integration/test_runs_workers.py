"""Real worker processes on Redis + PostgreSQL run the engine's promises end to end."""

import time

import pytest

from runs.dispatch import send_task_run
from runs.models import TaskAttempt
from runs.selectors import task_log
from runs.services import cancel_run, trigger_run
from runs.testing import wait_for_run
from tests.processes import wait_for_command
from workflows.models import Workflow

pytestmark = pytest.mark.integration


def start(slug, **parameters):
    return trigger_run(workflow=Workflow.objects.get(slug=slug), parameters=parameters)


def wait_for_task(run, name, check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = run.task_runs.get(task_name=name)
        if check(task):
            return task
        time.sleep(0.02)
    raise AssertionError(f"task {name} never got there: {task.state}")


def test_a_data_edge_passes_the_result(loaded, shared_worker):
    run = wait_for_run(start("data_edge", n=6), timeout=20)
    tasks = {t.task_name: t for t in run.task_runs.all()}
    assert run.state == "success"
    assert tasks["consume"].result == 15


def test_a_retrying_task_succeeds_on_its_third_attempt_with_three_logs(loaded, shared_worker):
    run = wait_for_run(start("third_time_lucky"), timeout=20)
    flaky = run.task_runs.get()
    assert (run.state, flaky.attempt) == ("success", 3)
    failures = TaskAttempt.objects.filter(task_run=flaky).values_list("number", "state")
    assert list(failures) == [(1, "failed"), (2, "failed")]
    for number in (1, 2, 3):
        assert f"attempt {number} starts" in task_log(task_run=flaky, attempt=number)


def test_a_task_over_its_timeout_fails_as_timed_out(loaded, shared_worker):
    run = wait_for_run(start("python_timeout"), timeout=20)
    task = run.task_runs.get()
    assert (run.state, task.state, task.error) == ("failed", "failed", "Timed out after 0.5 s.")


def test_cancel_kills_a_running_sleep_60_within_two_seconds(loaded, shared_worker):
    run = start("long_shell")
    wait_for_task(run, "sleep", lambda t: t.state == "running")
    wait_for_command(["sleep", "60"])  # the worker process's shell command runs
    asked = time.monotonic()
    cancel_run(run=run)
    task = wait_for_task(run, "sleep", lambda t: t.state == "cancelled", timeout=2)
    assert time.monotonic() - asked < 2
    assert task.error == "Cancelled: the run was cancelled."


def test_the_same_message_delivered_twice_runs_once(loaded, shared_worker):
    run = start("long_python", seconds=0.5)
    task = run.task_runs.get()
    send_task_run(task.pk, "default")
    send_task_run(task.pk, "default")
    run = wait_for_run(run, timeout=20)
    task.refresh_from_db()
    assert (run.state, task.attempt) == ("success", 1)
    assert not TaskAttempt.objects.filter(task_run=task).exists()
    assert task_log(task_run=task).count("sleeping 0.5 s") == 1


def test_two_tasks_at_once_in_one_worker_keep_separate_logs(loaded, shared_worker):
    run = wait_for_run(start("two_at_once", lines=40), timeout=20)
    left, right = run.task_runs.get(task_name="left"), run.task_runs.get(task_name="right")
    assert left.worker == right.worker  # one worker process, two threads
    assert left.started_at < right.finished_at and right.started_at < left.finished_at
    for task, mine, other in ((left, "left", "right"), (right, "right", "left")):
        log = task_log(task_run=task)
        assert log.count(f"{mine} print") == 40
        assert other not in log
