"""`manage.py up` restarts its scheduler and worker threads when they die."""

import logging
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django_celery_beat.models import PeriodicTask
from dramatiq.middleware.threading import raise_thread_exception

from runs.embedded import EmbeddedScheduler, EmbeddedWorker, Supervisor
from runs.models import WorkflowRun
from runs.scheduler import Scheduler
from runs.services import trigger_run
from runs.testing import stub_broker, use_workflows, wait_for_run
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "scheduler_workflows"
ENGINE_WORKFLOWS = Path(__file__).parent / "integration" / "workflows"
NOON = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


class Crash(Exception):
    pass


class CrashingScheduler:
    def run(self, stop):
        raise Crash("the scheduler hit a bug")


def wait_until(condition, timeout: float = 10.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.02)


@pytest.fixture
def loaded(transactional_db):
    with use_workflows(WORKFLOWS), stub_broker() as broker:
        yield broker


def restarts(caplog, service: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "runs.embedded" and f"embedded {service} stopped" in r.getMessage()
    ]


def test_a_scheduler_thread_that_dies_is_restarted_and_the_next_slot_starts(loaded, caplog):
    PeriodicTask.objects.filter(baton_schedule__workflow__slug="hourly_report").update(
        last_run_at=NOON
    )
    schedulers = iter(
        [CrashingScheduler(), Scheduler(clock=lambda: NOON + timedelta(hours=1, seconds=1))]
    )
    embedded = EmbeddedScheduler(scheduler_factory=lambda: next(schedulers)).start()
    supervisor = Supervisor([embedded], interval=0.05).start()
    started = WorkflowRun.objects.filter(workflow__slug="hourly_report", trigger="schedule")
    try:
        with caplog.at_level(logging.INFO, logger="runs.embedded"):
            wait_until(started.exists, what="the run of the 13:00 slot")
    finally:
        supervisor.stop()
        embedded.stop()
    assert list(started.values_list("logical_date", flat=True)) == [NOON + timedelta(hours=1)]
    assert restarts(caplog, "scheduler") == [
        "The embedded scheduler stopped (Crash: the scheduler hit a bug): restarting it."
    ]


class ThreadKilled(BaseException):
    pass


def test_a_worker_thread_that_dies_is_replaced_and_runs_still_run(loaded, caplog):
    worker = EmbeddedWorker(threads=1, broker=loaded).start()
    supervisor = Supervisor([worker], interval=0.05).start()
    try:
        with caplog.at_level(logging.INFO, logger="runs.embedded"):
            (only,) = worker.worker.workers
            kill(only)
            run = trigger_run(workflow=Workflow.objects.get(slug="hourly_report"), parameters={})
            run = wait_for_run(run, timeout=10)
    finally:
        supervisor.stop()
        worker.stop()
    assert run.state == "success"
    assert restarts(caplog, "worker") == [
        "The embedded worker stopped (1 of 1 worker threads): restarting it."
    ]


@contextmanager
def quiet_thread_deaths():
    hook, threading.excepthook = threading.excepthook, lambda args: None
    try:
        yield
    finally:
        threading.excepthook = hook


def kill(thread: threading.Thread) -> None:
    """As a stray asynchronous exception (a late task interrupt) would kill it."""
    with quiet_thread_deaths():
        raise_thread_exception(thread.ident, ThreadKilled)
        wait_until(lambda: not thread.is_alive(), what=f"the death of {thread.name}")


def test_a_dead_watch_thread_is_replaced_and_task_timeouts_still_apply(transactional_db, caplog):
    with use_workflows(ENGINE_WORKFLOWS), stub_broker() as broker:
        worker = EmbeddedWorker(threads=2, broker=broker).start()
        supervisor = Supervisor([worker], interval=0.05).start()
        try:
            with caplog.at_level(logging.INFO, logger="runs.embedded"):
                (watch,) = [t for t in threading.enumerate() if t.name == "baton-watch"]
                kill(watch)
                workflow = Workflow.objects.get(slug="python_timeout")
                run = wait_for_run(trigger_run(workflow=workflow, parameters={}), timeout=10)
        finally:
            supervisor.stop()
            worker.stop()
    assert run.state == "failed"
    assert run.task_runs.get().error == "Timed out after 0.5 s."
    assert restarts(caplog, "worker") == [
        "The embedded worker stopped (the watch thread (timeouts, cancels, heartbeats)): "
        "restarting it."
    ]


def test_a_service_that_keeps_dying_is_restarted_after_growing_pauses(caplog):
    class AlwaysDead:
        name = "scheduler"
        restarted = 0

        def failure(self):
            return "its thread ended"

        def restart(self):
            self.restarted += 1

    service = AlwaysDead()
    supervisor = Supervisor([service], interval=0.01, max_pause=0.08)
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        supervisor.check()
        time.sleep(0.005)
    # Pauses of 0.01, 0.02, 0.04, then 0.08 s each: about 8 restarts in 0.5 s, not 100.
    assert 5 <= service.restarted <= 10
