"""The run actions: trigger, cancel, retry, mark."""

from pathlib import Path

import pytest

from runs.models import TaskAttempt, TaskRun, WorkflowRun
from runs.services import (
    ActionRefused,
    WorkflowNotRunnable,
    cancel_run,
    mark_task,
    retry_failed_tasks,
    retry_task,
    trigger_run,
)
from runs.testing import in_process_worker, use_workflows, wait_for_run
from workflows.errors import ParameterErrors
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"


@pytest.fixture
def loaded(db):
    with use_workflows(WORKFLOWS):
        yield


@pytest.fixture
def engine(transactional_db):
    with use_workflows(WORKFLOWS), in_process_worker(threads=2) as broker:
        yield broker


def start(slug, **parameters):
    return trigger_run(workflow=Workflow.objects.get(slug=slug), parameters=parameters)


def states(run) -> dict[str, str]:
    return dict(run.task_runs.values_list("task_name", "state"))


def test_invalid_parameters_create_nothing(loaded):
    with pytest.raises(ParameterErrors) as caught:
        start("data_edge", n="many", colour="red")
    assert caught.value.errors == {
        "n": ["Enter a whole number."],
        "colour": ["Unknown parameter: this workflow has no parameter named 'colour'."],
    }
    assert (WorkflowRun.objects.count(), TaskRun.objects.count()) == (0, 0)


def test_it_refuses_a_workflow_removed_from_code(loaded):
    Workflow.objects.filter(slug="data_edge").update(is_active=False)
    with pytest.raises(WorkflowNotRunnable, match="was removed from the code"):
        start("data_edge")
    assert not WorkflowRun.objects.exists()


def test_it_refuses_a_workflow_missing_from_the_loaded_code(loaded):
    ghost = Workflow.objects.create(slug="ghost", title="Ghost")
    with pytest.raises(WorkflowNotRunnable, match="not in the code this server loaded"):
        trigger_run(workflow=ghost, parameters={})


def test_it_numbers_runs_per_workflow_and_snapshots_the_graph(loaded):
    numbers = [start("data_edge", n=2).number for _ in range(3)] + [start("single").number]
    assert numbers == [1, 2, 3, 1]
    run = WorkflowRun.objects.get(workflow__slug="data_edge", number=3)
    assert (run.state, run.parameters, run.trigger) == ("running", {"n": 2}, "manual")
    rows = run.task_runs.values_list("task_name", "state", "upstream", "downstream", "max_attempts")
    assert list(rows) == [
        ("produce", "queued", [], ["consume"], 1),
        ("consume", "pending", ["produce"], [], 1),
    ]


def test_a_task_moves_only_along_legal_transitions(loaded):
    task = start("single").task_runs.get()
    assert TaskRun.objects.filter(pk=task.pk).move("success") == 1  # marked by a user
    assert TaskRun.objects.filter(pk=task.pk).move("queued") == 0
    assert TaskRun.objects.filter(pk=task.pk).move("running") == 0
    task.refresh_from_db()
    assert task.state == "success"
    assert task.finished_at is not None


def test_cancel_of_a_finished_run_does_nothing(engine):
    run = wait_for_run(start("single"))
    assert cancel_run(run=run) is False
    run.refresh_from_db()
    assert run.state == "success"


def test_a_cancelled_waiting_run_never_starts(engine):
    first = start("one_at_a_time", seconds=0.2)
    waiting = start("one_at_a_time", seconds=0)
    assert cancel_run(run=waiting) is True
    wait_for_run(first)
    waiting.refresh_from_db()
    assert (waiting.state, states(waiting)) == ("cancelled", {"sleeper": "cancelled"})
    assert waiting.started_at is None


def test_retry_failed_tasks_reruns_them_in_the_same_run(engine, monkeypatch):
    run = wait_for_run(start("fixable"))
    assert (run.state, states(run)) == (
        "failed",
        {"fragile": "failed", "after_fix": "upstream_failed"},
    )
    with pytest.raises(ActionRefused):
        retry_failed_tasks(run=start("long_python", seconds=0.3))
    monkeypatch.setenv("BATON_TEST_FIXED", "1")
    assert retry_failed_tasks(run=run) == 2
    run = wait_for_run(run, states=["success"])
    fragile = run.task_runs.get(task_name="fragile")
    assert (fragile.attempt, fragile.result) == (2, "fixed")
    assert list(TaskAttempt.objects.filter(task_run=fragile).values_list("state", flat=True)) == [
        "failed"
    ]


def test_marking_a_failed_task_success_lets_a_retry_finish_the_run(engine):
    run = wait_for_run(start("fixable"))
    fragile = run.task_runs.get(task_name="fragile")
    assert mark_task(task_run=fragile, state="success", reason="fixed by hand") is True
    assert fragile.note == "Marked success by a user: fixed by hand"
    run.refresh_from_db()
    assert run.state == "failed"  # after_fix has not run
    retry_failed_tasks(run=run)
    run = wait_for_run(run, states=["success"])
    assert states(run) == {"fragile": "success", "after_fix": "success"}
    with pytest.raises(ActionRefused, match="marked success or failed, not 'skipped'"):
        mark_task(task_run=fragile, state="skipped")


def test_retry_task_reruns_it_with_its_downstream(engine):
    run = wait_for_run(start("data_edge", n=3))
    produce = run.task_runs.get(task_name="produce")
    assert retry_task(task_run=produce) == 2
    run = wait_for_run(run, states=["success"])
    assert dict(run.task_runs.values_list("task_name", "attempt")) == {"produce": 2, "consume": 2}
    assert run.task_runs.get(task_name="consume").result == 3
    kept = TaskAttempt.objects.filter(task_run__run=run).values_list("task_run__task_name", "state")
    assert sorted(kept) == [("consume", "success"), ("produce", "success")]  # the first attempts
