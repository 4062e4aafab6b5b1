"""`manage.py healthcheck worker|scheduler|web`: what a container's healthcheck is told."""

import os
import socket
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.utils import timezone

from runs.execution.watch import ActiveTasks, WatchThread
from runs.management.commands import healthcheck as healthcheck_command
from runs.presence import ProcessHeartbeat
from runs.scheduler import Scheduler

pytestmark = pytest.mark.django_db

HOST = socket.gethostname()


def healthcheck(service: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("healthcheck", service, stdout=out)
    return out.getvalue().strip()


def test_an_idle_worker_still_heartbeats(settings):
    WatchThread(tasks=ActiveTasks()).tick()  # no task runs

    beat = ProcessHeartbeat.objects.get()
    assert (beat.kind, beat.hostname, beat.pid) == ("worker", HOST, os.getpid())
    assert "default" in beat.queues
    assert healthcheck("worker") == (
        f"worker {HOST}:{os.getpid()} heard 0 s ago (queues: {', '.join(beat.queues)})"
    )


def test_a_silent_worker_is_unhealthy(settings):
    settings.BATON_HEARTBEAT_TIMEOUT = 60
    long_ago = timezone.now() - timedelta(seconds=61)
    ProcessHeartbeat.objects.create(kind="worker", hostname=HOST, pid=1, seen_at=long_ago)
    ProcessHeartbeat.objects.create(kind="worker", hostname="another-container", pid=2)

    with pytest.raises(CommandError) as failure:
        healthcheck("worker")

    assert str(failure.value) == (
        "no worker process on this host has sent a heartbeat in the last "
        "BATON_HEARTBEAT_TIMEOUT seconds: it is stuck, or not started"
    )


def test_a_worker_is_not_blamed_for_an_unreachable_database(monkeypatch):
    def unreachable(kind, now):
        raise OperationalError("connection refused")

    monkeypatch.setattr(healthcheck_command, "alive_here", unreachable)

    assert healthcheck("worker") == (
        "database unreachable (connection refused); not judging the worker"
    )


def test_the_scheduler_heartbeats_as_leader_and_takes_its_row_when_it_stops():
    scheduler = Scheduler()
    scheduler.tick()

    beat = ProcessHeartbeat.objects.get(kind="scheduler")
    assert beat.is_leader
    assert healthcheck("scheduler") == f"scheduler {HOST}:{os.getpid()} heard 0 s ago (leader)"

    stopped = threading.Event()
    stopped.set()
    scheduler.run(stopped)
    assert not ProcessHeartbeat.objects.filter(kind="scheduler").exists()


def test_the_leader_records_its_tick_time_and_forgets_processes_silent_for_an_hour():
    killed = ProcessHeartbeat.objects.create(
        kind="worker", hostname="gone", pid=7, seen_at=timezone.now() - timedelta(minutes=61)
    )
    recent = ProcessHeartbeat.objects.create(
        kind="worker", hostname="other", pid=8, seen_at=timezone.now() - timedelta(minutes=59)
    )
    scheduler = Scheduler()
    scheduler.tick()
    scheduler.next_heartbeat = 0  # the next tick heartbeats again, with this tick's duration
    scheduler.tick()

    beat = ProcessHeartbeat.objects.get(kind="scheduler")
    assert beat.tick_seconds is not None and beat.tick_seconds >= 0
    assert set(ProcessHeartbeat.objects.filter(kind="worker")) == {recent}
    assert not ProcessHeartbeat.objects.filter(pk=killed.pk).exists()


def test_web_is_ready_when_database_migrations_and_broker_are():
    assert healthcheck("web") == "ready: database, migrations and broker ok"
