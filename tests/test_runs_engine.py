"""The engine on the in-process broker: task runs executed by Dramatiq worker threads."""

import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from runs.dispatch import send_task_run
from runs.models import TaskAttempt, TaskRun, WorkflowRun
from runs.selectors import task_log
from runs.services import cancel_run, trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
from tests.processes import wait_for_command
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"


@pytest.fixture
def engine(transactional_db, monkeypatch):
    monkeypatch.setenv("BATON_TEST_TOKEN", "s3cr3t-value")
    with use_workflows(WORKFLOWS), in_process_worker(threads=4) as broker:
        yield broker


def start(slug, **parameters):
    return trigger_run(workflow=Workflow.objects.get(slug=slug), parameters=parameters)


def tasks_of(run) -> dict[str, TaskRun]:
    return {task.task_name: task for task in run.task_runs.all()}


def wait_for_task(run, name, state, timeout=5.0) -> TaskRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = run.task_runs.get(task_name=name)
        if task.state == state:
            return task
        time.sleep(0.02)
    raise AssertionError(f"task {name} is {task.state}, not {state}, after {timeout} s")


def test_it_passes_a_result_along_a_data_edge(engine):
    run = wait_for_run(start("data_edge", n=5))
    tasks = tasks_of(run)
    assert run.state == "success"
    assert tasks["produce"].result == {"n": 5, "items": [0, 1, 2, 3, 4]}
    assert tasks["consume"].result == 10
    assert tasks["consume"].started_at >= tasks["produce"].finished_at
    assert run.finished_at >= tasks["consume"].finished_at


def test_it_succeeds_on_the_third_attempt_with_three_logs(engine):
    run = wait_for_run(start("third_time_lucky"))
    flaky = tasks_of(run)["flaky"]
    assert (run.state, flaky.state, flaky.attempt) == ("success", "success", 3)
    assert flaky.result == "third time lucky"
    attempts = TaskAttempt.objects.filter(task_run=flaky).values_list("number", "state", "error")
    assert list(attempts) == [
        (1, "failed", "ConnectionError: failure number 1"),
        (2, "failed", "ConnectionError: failure number 2"),
    ]
    for number in (1, 2, 3):
        assert f"attempt {number} starts" in task_log(task_run=flaky, attempt=number)
    assert "ConnectionError: failure number 1" in task_log(task_run=flaky, attempt=1)


def test_it_interrupts_a_python_task_over_its_timeout(engine):
    began = time.monotonic()
    run = wait_for_run(start("python_timeout"))
    task = tasks_of(run)["too_slow"]
    assert (run.state, task.state, task.error) == ("failed", "failed", "Timed out after 0.5 s.")
    assert time.monotonic() - began < 3
    assert "working slowly" in task_log(task_run=task)


def test_it_kills_a_shell_task_over_its_timeout(engine):
    run = wait_for_run(start("shell_timeout"))
    task = tasks_of(run)["sleep"]
    assert (task.state, task.error) == ("failed", "Timed out after 0.5 s.")
    assert task.finished_at - task.started_at < timedelta(seconds=2)


def test_cancel_kills_a_running_shell_task_within_two_seconds(engine):
    run = start("long_shell")
    wait_for_task(run, "sleep", "running")
    wait_for_command(["sleep", "60"])  # the shell command itself runs
    asked = time.monotonic()
    assert cancel_run(run=run) is True
    task = wait_for_task(run, "sleep", "cancelled", timeout=2)
    assert time.monotonic() - asked < 2
    assert task.error == "Cancelled: the run was cancelled."
    run.refresh_from_db()
    assert run.state == "cancelled"


def test_cancel_cancels_tasks_that_have_not_started_at_once(engine):
    run = start("slow_then_fast")
    wait_for_task(run, "sleeper", "running")
    cancel_run(run=run)
    run.refresh_from_db()
    assert run.state == "cancelled"
    assert run.task_runs.get(task_name="noop").state == "cancelled"
    sleeper = wait_for_task(run, "sleeper", "cancelled", timeout=2)  # interrupted
    assert TaskAttempt.objects.get(task_run=sleeper).error == "Cancelled: the run was cancelled."


def test_a_duplicated_message_runs_the_task_once(engine):
    run = start("long_python", seconds=0.3)
    task = run.task_runs.get()
    send_task_run(task.pk, "default")
    send_task_run(task.pk, "default")
    run = wait_for_run(run)
    task.refresh_from_db()
    assert (run.state, task.attempt) == ("success", 1)
    assert not TaskAttempt.objects.filter(task_run=task).exists()
    assert task_log(task_run=task, attempt=1).count("sleeping 0.3 s") == 1


def test_a_result_that_is_not_json_fails_the_task(engine):
    run = wait_for_run(start("not_json"))
    task = tasks_of(run)["returns_a_set"]
    assert task.state == "failed"
    assert task.error.startswith("The task returned a value that is not JSON")
    assert task.result is None


def test_a_result_over_the_size_cap_fails_the_task(engine, settings):
    settings.BATON_TASK_RESULT_MAX_BYTES = 100
    run = wait_for_run(start("data_edge", n=100))
    task = tasks_of(run)["produce"]
    assert task.state == "failed"
    assert "over the limit of 100 bytes" in task.error
    assert tasks_of(run)["consume"].state == "upstream_failed"


def test_it_applies_trigger_rules(engine):
    run = wait_for_run(start("rules"))
    assert run.state == "failed"
    assert {name: task.state for name, task in tasks_of(run).items()} == {
        "ok": "success",
        "boom": "failed",
        "blocked": "upstream_failed",
        "blocked_too": "upstream_failed",
        "cleanup": "success",
        "alert": "success",
        "quiet_alert": "skipped",
        "after_skip_none_failed": "success",
        "after_skip_all_success": "skipped",
    }


def test_extra_runs_wait_for_max_active_runs(engine):
    first = start("one_at_a_time", seconds=0.3)
    second = start("one_at_a_time", seconds=0.0)
    assert (first.state, second.state) == ("running", "queued")
    first, second = wait_for_run(first), wait_for_run(second)
    assert (first.state, second.state) == ("success", "success")
    assert (first.number, second.number) == (1, 2)
    assert second.started_at >= first.finished_at


def test_concurrent_tasks_keep_separate_logs(engine):
    run = wait_for_run(start("two_at_once", lines=30))
    left, right = tasks_of(run)["left"], tasks_of(run)["right"]
    assert left.started_at < right.finished_at and right.started_at < left.finished_at
    for task, mine, other in ((left, "left", "right"), (right, "right", "left")):
        log = task_log(task_run=task)
        assert log.count(f"{mine} print") == 30
        assert log.count(f"INFO {mine} log") == 30
        assert other not in log


def test_a_shell_task_gets_argv_parameters_and_secrets(engine):
    run = wait_for_run(start("shell_env", word="two words", count=3, tags=["x", "y"]))
    task = tasks_of(run)["show"]
    assert task.state == "success"
    assert task_log(task_run=task).splitlines() == [
        "argv1=two words",
        "word=two words",
        "count=3",
        'tags=["x", "y"]',
        "token=***",
        "last line",
    ]
    assert task.result == "last line"


def test_a_failing_shell_task_reports_its_exit_code_and_log_tail(engine):
    run = wait_for_run(start("shell_fails"))
    task = tasks_of(run)["fail"]
    assert task.state == "failed"
    assert task.error == "Exited with code 3. Last lines of the log:\nabout to fail\nreally"


def test_secrets_are_masked_in_python_task_logs(engine):
    run = wait_for_run(start("python_secret"))
    log = task_log(task_run=tasks_of(run)["leaky"])
    assert "the token is ***" in log
    assert "still ***" in log
    assert "s3cr3t" not in log


def test_a_long_log_is_truncated_with_a_marker(engine, settings):
    settings.BATON_TASK_LOG_MAX_BYTES = 300
    run = wait_for_run(start("two_at_once", lines=50))
    log = task_log(task_run=tasks_of(run)["left"])
    assert "[Baton: log truncated" in log
    assert len(log) < 600
    assert tasks_of(run)["left"].state == "success"


def test_a_missing_secret_fails_the_task_saying_what_to_set(engine, monkeypatch):
    monkeypatch.delenv("BATON_TEST_TOKEN")
    run = wait_for_run(start("python_secret"))
    task = tasks_of(run)["leaky"]
    assert (task.state, task.attempt) == ("failed", 1)
    assert task.error.startswith("secret 'BATON_TEST_TOKEN' is not set: define the environment")
    assert task.error in task_log(task_run=task)


def test_a_retry_message_arriving_early_waits_for_its_time(engine):
    run = wait_for_run(start("single"))
    task = run.task_runs.get()
    due = timezone.now() + timedelta(seconds=0.3)
    TaskRun.objects.filter(pk=task.pk).update(state="up_for_retry", next_attempt_at=due)
    WorkflowRun.objects.filter(pk=run.pk).update(state="running")
    send_task_run(task.pk, "default")  # no delay: it comes too early
    run = wait_for_run(run)
    task.refresh_from_db()
    assert (task.state, task.attempt) == ("success", 2)
    assert task.started_at >= due


def test_tasks_ending_together_start_the_join_once_and_end_the_run_once(engine):
    runs = [start("fan_out_in") for _ in range(3)]
    for run in runs:
        run = wait_for_run(run)
        tasks = tasks_of(run)
        assert run.state == "success"
        assert {task.state for task in tasks.values()} == {"success"}
        assert tasks["join"].attempt == 1
        assert tasks["join"].started_at >= max(
            t.finished_at for t in tasks.values() if "join" in t.downstream
        )
        assert run.finished_at >= max(task.finished_at for task in tasks.values())
