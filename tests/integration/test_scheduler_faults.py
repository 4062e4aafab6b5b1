"""A real `runscheduler` process through a database outage (its own PostgreSQL stopped, started).

First the database refuses it while its lock's connection lives (its queries
fail while it leads), then the server stops (the lock goes too). It stays up,
logs each outage once, leads again once it holds the lock again, and starts
every slot exactly once: those missed while the database was down by
catch-up, the next ones on time.
"""

import time
from datetime import timedelta

import psycopg
import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from runs.models import WorkflowRun
from tests.processes import wait_until
from workflows.models import Workflow, WorkflowSchedule
from workflows.schedules import BATON_TASK

from .own_postgres import answering
from .test_scheduler_processes import SchedulerProcess

pytestmark = pytest.mark.integration

OUTAGE_SECONDS = 2
LEADER = "Scheduler is the leader"
UNREACHABLE = "Database unreachable, retrying"
BACK = "Database back after"


def every_second_schedule() -> Workflow:
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    start = timezone.now().replace(microsecond=0) + timedelta(seconds=1)
    task = PeriodicTask.objects.create(
        name="every second", task=BATON_TASK, interval=every_second, start_time=start
    )
    workflow = Workflow.objects.get(slug="every_second")  # catchup=True
    Workflow.objects.filter(pk=workflow.pk).update(max_active_runs=1000)
    WorkflowSchedule.objects.create(periodic_task=task, workflow=workflow)
    return workflow


def refuse_connections(server, refuse: bool) -> None:
    """Close the baton database to new connections, and cut those open but the lock's."""
    with psycopg.connect(server.url("postgres"), autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE baton ALLOW_CONNECTIONS {'false' if refuse else 'true'}")
        if refuse:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'baton'"
                " AND pid NOT IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory')"
            )


def test_the_scheduler_survives_database_outages(on_own_postgres, worker_env, tmp_path):
    env = {**worker_env, "DATABASE_URL": on_own_postgres.url()}
    workflow = every_second_schedule()
    runs = WorkflowRun.objects.filter(workflow=workflow, trigger="schedule")
    scheduler = SchedulerProcess(env, tmp_path / "scheduler.log")
    try:
        scheduler.wait_for(LEADER)
        wait_until(lambda: runs.count() >= 2, 15, "the scheduler started no run")

        # While it leads: its lock's connection lives, its queries fail.
        refuse_connections(on_own_postgres, True)
        scheduler.wait_for(UNREACHABLE, timeout=10)
        time.sleep(OUTAGE_SECONDS)  # the outage itself: ticks keep failing meanwhile
        refuse_connections(on_own_postgres, False)
        scheduler.wait_for(BACK, timeout=10)

        # The server stopped: the lock goes with it.
        on_own_postgres.stop()
        wait_until(lambda: scheduler.output().count(UNREACHABLE) == 2, 10, "no second outage")
        time.sleep(OUTAGE_SECONDS)
        on_own_postgres.start()
        back = timezone.now()

        wait_until(lambda: scheduler.output().count(LEADER) == 2, 15, "it did not lead again")
        wait_until(
            lambda: answering(runs.filter(logical_date__gt=back + timedelta(seconds=1)).exists),
            15,
            "no slot started after the outage",
        )
        assert scheduler.process.poll() is None  # still up
    finally:
        answering(lambda: PeriodicTask.objects.update(enabled=False))
        scheduler.stop()

    slots = sorted(runs.values_list("logical_date", flat=True))
    assert len(slots) == len(set(slots))  # no slot twice
    steps = {(b - a).total_seconds() for a, b in zip(slots, slots[1:], strict=False)}
    assert steps == {1.0}  # the slots of the outages were caught up: none missed
    output = scheduler.output()
    assert output.count(UNREACHABLE) == 2, output  # once per outage
    assert output.count(BACK) == 2, output
    assert "Traceback" not in output
