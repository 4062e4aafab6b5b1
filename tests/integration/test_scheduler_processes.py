"""The scheduler as a real process beside real workers, on Redis and PostgreSQL.

It repairs what the broker or a dead worker lost, and two schedulers share the
work safely: one leads, the other takes over when it dies.
"""

from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from runs.models import TaskAttempt, WorkflowRun
from runs.services import trigger_run
from runs.testing import wait_for_run
from tests.processes import ManageProcess, wait_until
from workflows.models import Workflow, WorkflowSchedule
from workflows.schedules import BATON_TASK

from .conftest import WorkerProcess

FAST_RECOVERY = {"BATON_QUEUED_TIMEOUT": "2", "BATON_HEARTBEAT_TIMEOUT": "2"}


class SchedulerProcess(ManageProcess):
    """`manage.py runscheduler` in its own process group, its output in a file."""

    name = "the scheduler"

    def __init__(self, env: dict, log_path: Path):
        super().__init__(["runscheduler"], env, log_path)


@pytest.fixture
def recovery_env(worker_env):
    return {**worker_env, **FAST_RECOVERY}


def test_a_run_completes_after_redis_is_flushed_mid_run(loaded, redis_url, recovery_env, processes):
    worker = processes(WorkerProcess, recovery_env, "worker", threads=1)
    worker.wait_ready()
    processes(SchedulerProcess, recovery_env, "scheduler").wait_for("Scheduler is the leader")
    run = trigger_run(workflow=Workflow.objects.get(slug="five_at_once"), parameters={})
    wait_until(lambda: run.task_runs.filter(state="running").exists(), 10, "no task started")
    redis.Redis.from_url(redis_url).flushall()

    run = wait_for_run(run, timeout=40)
    assert run.state == "success"
    assert set(run.task_runs.values_list("state", flat=True)) == {"success"}
    assert not TaskAttempt.objects.filter(task_run__run=run).exists()  # no task ran twice


def test_a_task_of_a_killed_worker_is_retried_by_the_scheduler(loaded, recovery_env, processes):
    doomed = processes(WorkerProcess, recovery_env, "doomed", threads=1)
    doomed.wait_ready()
    processes(SchedulerProcess, recovery_env, "scheduler").wait_for("Scheduler is the leader")
    run = trigger_run(workflow=Workflow.objects.get(slug="crash_then_retry"), parameters={})
    task_run = run.task_runs.get()
    wait_until(
        lambda: task_run.__class__.objects.filter(pk=task_run.pk, state="running").exists(),
        10,
        "the task did not start",
    )
    doomed.kill()
    processes(WorkerProcess, recovery_env, "rescuer", threads=1).wait_ready()

    run = wait_for_run(run, timeout=40)
    task_run.refresh_from_db()
    assert (run.state, task_run.state, task_run.attempt, task_run.result) == (
        "success",
        "success",
        2,
        "survived",
    )
    (lost,) = TaskAttempt.objects.filter(task_run=task_run)
    assert "stopped answering" in lost.error


def test_the_other_scheduler_takes_over_and_each_slot_runs_once(loaded, recovery_env, processes):
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    start = timezone.now().replace(microsecond=0) + timedelta(seconds=2)
    task = PeriodicTask.objects.create(
        name="every second", task=BATON_TASK, interval=every_second, start_time=start
    )
    workflow = Workflow.objects.get(slug="every_second")
    Workflow.objects.filter(pk=workflow.pk).update(max_active_runs=1000)
    WorkflowSchedule.objects.create(periodic_task=task, workflow=workflow)
    try:
        first = processes(SchedulerProcess, recovery_env, "first")
        first.wait_for("Scheduler is the leader")
        second = processes(SchedulerProcess, recovery_env, "second")
        second.wait_for("Scheduler started")
        runs = WorkflowRun.objects.filter(workflow=workflow, trigger="schedule")
        wait_until(lambda: runs.count() >= 3, 15, "the leader started no run")
        first.kill()
        killed_at = timezone.now()
        second.wait_for("Scheduler is the leader", timeout=15)
        wait_until(
            lambda: runs.filter(logical_date__gt=killed_at + timedelta(seconds=2)).exists(),
            15,
            "the second scheduler started no run",
        )
    finally:
        PeriodicTask.objects.filter(pk=task.pk).update(enabled=False)
    slots = sorted(runs.values_list("logical_date", flat=True))
    assert len(slots) == len(set(slots))  # no slot twice
    steps = {(b - a).total_seconds() for a, b in zip(slots, slots[1:], strict=False)}
    assert steps == {1.0}  # catch-up filled the takeover gap: no slot missed
