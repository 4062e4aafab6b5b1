"""The scheduler's automatic moves land in the audit trail, as ``system``, with the move."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit.testing import AuditTrail
from runs import recovery
from runs.models import TaskRun, WorkflowRun
from runs.services import trigger_run
from runs.testing import stub_broker, use_workflows
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "scheduler_workflows"
NOON = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def loaded(db):
    with use_workflows(WORKFLOWS), stub_broker() as broker:
        yield broker


def start(slug: str) -> WorkflowRun:
    return trigger_run(workflow=Workflow.objects.get(slug=slug), parameters={})


def test_a_task_of_a_silent_worker_is_recorded_as_recovered(loaded, settings):
    settings.BATON_HEARTBEAT_TIMEOUT = 60
    run = start("one_retry")
    trail = AuditTrail()
    task_run = run.task_runs.get()
    TaskRun.objects.filter(pk=task_run.pk).update(
        state="running", attempt=1, started_at=NOON, heartbeat_at=NOON, worker="gone:42"
    )

    assert recovery.recover_dead_workers(NOON + timedelta(seconds=30)) == 0
    assert trail.events() == []  # nothing moved, nothing recorded
    assert recovery.recover_dead_workers(NOON + timedelta(seconds=61)) == 1

    event = trail.only()
    assert (event.verb, event.actor_label, event.actor_id) == ("task.recovered", "system", None)
    assert (event.object_type, event.object_id) == ("runs.taskrun", str(task_run.pk))
    assert event.workflow_slug == "one_retry"
    assert event.details["worker"] == "gone:42"
    assert (event.details["attempt"], event.details["state"]) == (1, "up_for_retry")


def test_a_resent_lost_message_is_recorded(loaded, settings):
    settings.BATON_QUEUED_TIMEOUT = 60
    run = start("one_retry")
    trail = AuditTrail()
    task_run = run.task_runs.get()
    assert recovery.resend_stale_queued(task_run.queued_at + timedelta(seconds=61)) == 1

    event = trail.only()
    assert (event.verb, event.actor_label, event.object_id) == (
        "task.resent",
        "system",
        str(task_run.pk),
    )
    assert event.workflow_slug == "one_retry"


def test_a_due_retry_sent_is_recorded(loaded):
    run = start("one_retry")
    task_run = run.task_runs.get()
    TaskRun.objects.filter(pk=task_run.pk).update(
        state="up_for_retry", attempt=1, next_attempt_at=NOON
    )
    trail = AuditTrail()
    assert recovery.send_due_retries(NOON + timedelta(seconds=3)) == 1

    event = trail.only()
    assert (event.verb, event.actor_label, event.details) == (
        "task.retry_sent",
        "system",
        {"attempt": 2},
    )


def test_a_timed_out_run_is_recorded(loaded):
    run = start("bounded")
    WorkflowRun.objects.filter(pk=run.pk).update(started_at=NOON)
    trail = AuditTrail()
    assert recovery.fail_overdue_runs(NOON + timedelta(minutes=4)) == 0
    assert trail.events() == []
    assert recovery.fail_overdue_runs(NOON + timedelta(minutes=6)) == 1

    event = trail.only()
    assert (event.verb, event.actor_label, event.object_type, event.object_id) == (
        "run.timed_out",
        "system",
        "runs.workflowrun",
        str(run.pk),
    )
    assert event.details == {"timeout": "0:05:00", "tasks_cancelled": 1}


def test_a_move_whose_event_cannot_be_written_is_not_made(loaded, settings, monkeypatch):
    settings.BATON_QUEUED_TIMEOUT = 60
    task_run = start("one_retry").task_runs.get()

    def broken(**kwargs):
        raise RuntimeError("the audit trail is unavailable")

    monkeypatch.setattr(recovery, "record_event", broken)
    with pytest.raises(RuntimeError):
        recovery.resend_stale_queued(task_run.queued_at + timedelta(seconds=61))
    stored = TaskRun.objects.get(pk=task_run.pk)
    assert stored.queued_at == task_run.queued_at  # rolled back with the event
