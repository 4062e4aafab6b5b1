"""The run actions each write one audit event, in the action's transaction."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import transaction

from accounts.testing import make_user
from audit.testing import AuditTrail
from runs.models import TaskRun, WorkflowRun
from runs.services import cancel_run, mark_task, retry_failed_tasks, retry_task, trigger_run
from runs.testing import stub_broker, use_workflows
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"


@pytest.fixture
def loaded(db):
    with use_workflows(WORKFLOWS), stub_broker():
        yield


@pytest.fixture
def alice(db):
    return make_user("alice")


def start(slug, user=None, **parameters) -> WorkflowRun:
    return trigger_run(
        workflow=Workflow.objects.get(slug=slug), parameters=parameters, started_by=user
    )


def finish(run: WorkflowRun, task_state: str, run_state: str) -> None:
    run.task_runs.update(state=task_state)
    WorkflowRun.objects.filter(pk=run.pk).update(state=run_state)


def test_it_records_a_run_triggered_with_its_parameters(loaded, alice):
    trail = AuditTrail()
    run = start("shell_env", alice, word="hi", count=3)
    event = trail.only()
    assert (event.verb, event.actor, event.object_id, event.workflow_slug) == (
        "run.triggered",
        alice,
        str(run.pk),
        "shell_env",
    )
    assert event.details["parameters"] == {"word": "hi", "count": 3, "tags": ["a", "b"]}
    assert event.details["trigger"] == "manual"


def test_a_run_started_by_the_scheduler_is_recorded_as_the_scheduler(loaded):
    trail = AuditTrail()
    trigger_run(
        workflow=Workflow.objects.get(slug="single"),
        parameters={},
        trigger="schedule",
        logical_date=datetime(2026, 5, 4, 3, tzinfo=UTC),
    )
    event = trail.only()
    assert (event.verb, event.actor, event.actor_label) == ("run.triggered", None, "scheduler")


def test_a_run_that_rolls_back_leaves_no_event(loaded, alice):
    trail = AuditTrail()
    with pytest.raises(RuntimeError), transaction.atomic():
        start("single", alice)
        raise RuntimeError("the caller failed after triggering")
    assert trail.events() == []
    assert not WorkflowRun.objects.filter(workflow__slug="single").exists()


def test_it_records_a_run_cancelled(loaded, alice):
    run = start("single")
    trail = AuditTrail()
    cancel_run(run=run, user=alice)
    event = trail.only()
    assert (event.verb, event.actor, event.object_id) == ("run.cancelled", alice, str(run.pk))
    assert event.details == {"previous_state": "running"}


def test_it_records_failed_tasks_retried(loaded, alice):
    run = start("single")
    finish(run, "failed", "failed")
    trail = AuditTrail()
    retry_failed_tasks(run=run, user=alice)
    event = trail.only()
    assert (event.verb, event.actor, event.details) == ("run.retried", alice, {"tasks": ["noop"]})


def test_it_records_one_task_retried(loaded, alice):
    run = start("fixable")
    finish(run, "failed", "failed")
    trail = AuditTrail()
    retry_task(task_run=run.task_runs.get(task_name="fragile"), user=alice)
    event = trail.only()
    assert (event.verb, event.actor, event.workflow_slug) == ("task.retried", alice, "fixable")
    assert event.details == {"previous_state": "failed", "tasks_run_again": 2}


def test_it_records_a_task_marked_with_the_reason_given(loaded, alice):
    run = start("single")
    finish(run, "failed", "failed")
    task_run = TaskRun.objects.get(run=run)
    trail = AuditTrail()
    mark_task(task_run=task_run, state="success", reason="fixed by hand in the ERP", user=alice)
    event = trail.only()
    assert (event.verb, event.actor, event.object_id) == ("task.marked", alice, str(task_run.pk))
    assert event.details == {"state": "success", "reason": "fixed by hand in the ERP"}
