"""The scheduler's work with a controlled clock: due runs, catch-up, pause, backfill, recovery."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from runs import recovery
from runs.models import TaskAttempt, TaskRun, WorkflowRun
from runs.scheduler import Scheduler
from runs.services import trigger_run
from runs.testing import stub_broker, use_workflows
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "scheduler_workflows"
NOON = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def loaded(db):
    with use_workflows(WORKFLOWS), stub_broker() as broker:
        yield broker


def last_ran(slug: str, at: datetime) -> None:
    """Pretend the schedule of ``slug`` last started a run at ``at``."""
    PeriodicTask.objects.filter(baton_schedule__workflow__slug=slug).update(last_run_at=at)


def scheduled_runs(slug: str) -> list[datetime]:
    return list(
        WorkflowRun.objects.filter(workflow__slug=slug, trigger="schedule")
        .order_by("logical_date")
        .values_list("logical_date", flat=True)
    )


def scheduler_at(now) -> tuple[Scheduler, Clock]:
    clock = Clock(now)
    return Scheduler(clock=clock), clock


def test_it_starts_a_run_when_its_slot_is_due(loaded):
    last_ran("hourly_report", NOON)
    scheduler, clock = scheduler_at(NOON + timedelta(minutes=59))
    scheduler.tick()
    assert scheduled_runs("hourly_report") == []

    clock.now = NOON + timedelta(hours=1, seconds=0.2)
    scheduler.tick()
    run = WorkflowRun.objects.get(workflow__slug="hourly_report")
    assert (run.logical_date, run.data_interval_start, run.data_interval_end) == (
        NOON + timedelta(hours=1),
        NOON,
        NOON + timedelta(hours=1),
    )
    assert (run.trigger, run.state, run.parameters) == ("schedule", "running", {"label": "hourly"})
    task = PeriodicTask.objects.get(baton_schedule__workflow__slug="hourly_report")
    assert (task.last_run_at, task.total_run_count) == (NOON + timedelta(hours=1), 1)


def test_it_sleeps_until_the_next_slot_but_at_most_a_second(loaded):
    last_ran("hourly_report", NOON)
    last_ran("hourly_catchup", NOON)
    scheduler, _ = scheduler_at(NOON + timedelta(minutes=59, seconds=59.5))
    assert scheduler.tick() == pytest.approx(0.5)
    scheduler.clock.now = NOON + timedelta(minutes=10)
    assert scheduler.tick() == 1.0


def test_a_paused_workflow_starts_no_scheduled_run(loaded):
    last_ran("hourly_report", NOON)
    Workflow.objects.filter(slug="hourly_report").update(is_paused=True)
    scheduler, _ = scheduler_at(NOON + timedelta(hours=3))
    scheduler.tick()
    assert scheduled_runs("hourly_report") == []


def test_without_catchup_only_the_latest_missed_slot_runs_after_downtime(loaded):
    last_ran("hourly_report", NOON)
    scheduler, _ = scheduler_at(NOON + timedelta(hours=5, minutes=30))
    scheduler.tick()
    assert scheduled_runs("hourly_report") == [NOON + timedelta(hours=5)]


def test_with_catchup_each_missed_slot_runs_oldest_first(loaded):
    last_ran("hourly_catchup", NOON)
    scheduler, _ = scheduler_at(NOON + timedelta(hours=3, minutes=30))
    scheduler.tick()
    assert scheduled_runs("hourly_catchup") == [NOON + timedelta(hours=n) for n in (1, 2, 3)]
    numbers = WorkflowRun.objects.filter(workflow__slug="hourly_catchup").order_by("logical_date")
    assert list(numbers.values_list("number", flat=True)) == [1, 2, 3]


def test_two_schedulers_never_start_one_slot_twice(loaded):
    last_ran("hourly_report", NOON)
    first, _ = scheduler_at(NOON + timedelta(hours=1))
    second, _ = scheduler_at(NOON + timedelta(hours=1))
    for scheduler in (first, second):
        scheduler.book.load(NOON + timedelta(hours=1))  # both believe they lead
        scheduler.process_due(NOON + timedelta(hours=1))
    assert scheduled_runs("hourly_report") == [NOON + timedelta(hours=1)]


def test_backfill_creates_one_run_per_slot_and_skips_existing_ones(loaded, capsys):
    call_command(
        "backfill", "hourly_report", "--start", "2026-05-01T00:00", "--end", "2026-05-01T03:00"
    )
    assert "4 run(s) created" in capsys.readouterr().out
    call_command(
        "backfill", "hourly_report", "--start", "2026-05-01T02:00", "--end", "2026-05-01T04:00"
    )
    assert "1 run(s) created, 2 slot(s) already had a run." in capsys.readouterr().out
    runs = WorkflowRun.objects.filter(workflow__slug="hourly_report").order_by("logical_date")
    assert [r.logical_date.hour for r in runs] == [0, 1, 2, 3, 4]
    assert {r.trigger for r in runs} == {"backfill"}
    assert runs[1].data_interval_start == runs[0].logical_date


def test_backfill_respects_max_active_runs(loaded):
    Workflow.objects.filter(slug="hourly_report").update(max_active_runs=2)
    call_command("backfill", "hourly_report", "--start", "2026-05-01", "--end", "2026-05-01T04:00")
    states = WorkflowRun.objects.filter(workflow__slug="hourly_report").values_list(
        "state", flat=True
    )
    assert sorted(states) == ["queued", "queued", "queued", "running", "running"]


def test_backfill_explains_bad_input(loaded):
    with pytest.raises(CommandError, match="no workflow named 'nope'"):
        call_command("backfill", "nope", "--start", "2026-05-01", "--end", "2026-05-02")
    with pytest.raises(CommandError, match="is not a date"):
        call_command("backfill", "hourly_report", "--start", "yesterday", "--end", "2026-05-02")
    with pytest.raises(CommandError, match="has no schedule"):
        call_command("backfill", "one_retry", "--start", "2026-05-01", "--end", "2026-05-02")


# --- Recovery sweeps -----------------------------------------------------------------------


def start(slug: str) -> WorkflowRun:
    return trigger_run(workflow=Workflow.objects.get(slug=slug), parameters={})


def queued_messages(broker) -> int:
    return sum(queue.qsize() for name, queue in broker.queues.items() if not name.endswith("XQ"))


def test_a_task_queued_too_long_is_sent_again(loaded, settings, django_capture_on_commit_callbacks):
    settings.BATON_QUEUED_TIMEOUT = 60
    run = start("one_retry")
    task_run = run.task_runs.get()
    before = queued_messages(loaded)
    assert recovery.resend_stale_queued(task_run.queued_at + timedelta(seconds=30)) == 0
    later = task_run.queued_at + timedelta(seconds=61)
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.resend_stale_queued(later) == 1
    assert queued_messages(loaded) == before + 1
    task_run.refresh_from_db()
    assert (task_run.state, task_run.queued_at) == ("queued", later)
    assert recovery.resend_stale_queued(later + timedelta(seconds=1)) == 0


def claim(task_run: TaskRun, *, at: datetime, worker="gone-host:4242") -> None:
    TaskRun.objects.filter(pk=task_run.pk).update(
        state="running", attempt=task_run.attempt + 1, started_at=at, heartbeat_at=at, worker=worker
    )


def test_a_task_of_a_dead_worker_is_retried_when_it_has_retries_left(loaded, settings):
    settings.BATON_HEARTBEAT_TIMEOUT = 60
    task_run = start("one_retry").task_runs.get()
    claim(task_run, at=NOON)
    assert recovery.recover_dead_workers(NOON + timedelta(seconds=59)) == 0
    assert recovery.recover_dead_workers(NOON + timedelta(seconds=61)) == 1
    task_run.refresh_from_db()
    assert task_run.state == "up_for_retry"
    attempt = TaskAttempt.objects.get(task_run=task_run)
    assert attempt.error.startswith("The worker running this task (gone-host:4242) stopped")


def test_a_task_of_a_dead_worker_fails_when_no_retry_is_left(loaded, settings):
    settings.BATON_HEARTBEAT_TIMEOUT = 60
    run = start("hourly_report")
    task_run = run.task_runs.get()
    claim(task_run, at=NOON)
    recovery.recover_dead_workers(NOON + timedelta(minutes=5))
    task_run.refresh_from_db()
    run.refresh_from_db()
    assert (task_run.state, run.state) == ("failed", "failed")
    assert "no heartbeat for over 60 s" in task_run.error


def test_a_due_retry_is_queued_and_sent(loaded, django_capture_on_commit_callbacks):
    task_run = start("one_retry").task_runs.get()
    TaskRun.objects.filter(pk=task_run.pk).update(
        state="up_for_retry", attempt=1, next_attempt_at=NOON
    )
    before = queued_messages(loaded)
    assert recovery.send_due_retries(NOON) == 0  # its own delayed message comes first
    with django_capture_on_commit_callbacks(execute=True):
        assert recovery.send_due_retries(NOON + timedelta(seconds=3)) == 1
    task_run.refresh_from_db()
    assert task_run.state == "queued"
    assert queued_messages(loaded) == before + 1


def test_a_run_over_its_workflow_timeout_fails(loaded):
    run = start("bounded")
    WorkflowRun.objects.filter(pk=run.pk).update(started_at=NOON)
    assert recovery.fail_overdue_runs(NOON + timedelta(minutes=4)) == 0
    assert recovery.fail_overdue_runs(NOON + timedelta(minutes=6)) == 1
    run.refresh_from_db()
    assert run.state == "failed"
    assert run.note == "Timed out: the workflow may run for at most 0:05:00."
    assert set(run.task_runs.values_list("state", flat=True)) == {"cancelled"}
