"""Helpers for tests that run workflows: an in-process worker and waiting for a run to end.

    with in_process_worker():
        run = trigger_run(workflow=workflow, parameters={})
        run = wait_for_run(run)
        assert run.state == "success"

Tests using them need real commits (pytest-django's ``transactional_db``): the
worker threads read the database through their own connections.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

import dramatiq
from django.conf import settings
from django_dramatiq.utils import load_middleware
from dramatiq.brokers.stub import StubBroker

from workflows.registry import discover, reset_registry
from workflows.sync import sync_workflows

from .embedded import EmbeddedWorker
from .models import WorkflowRun
from .worker_hooks import prepare_broker


@contextmanager
def use_workflows(folder) -> Iterator[None]:
    """Make the workflows of ``folder`` (and of the apps) the loaded ones, synced to the DB."""
    registry = discover(workflows_dir=str(folder))
    reset_registry(registry)
    sync_workflows(registry=registry)
    try:
        yield
    finally:
        reset_registry(None)


@contextmanager
def stub_broker() -> Iterator[StubBroker]:
    """A fresh in-process broker (with the settings' middleware) as the global broker.

    Tests use it so they never touch Redis, even when BROKER_URL is set.
    """
    previous = dramatiq.get_broker()
    broker = StubBroker(
        middleware=[load_middleware(path) for path in settings.DRAMATIQ_BROKER["MIDDLEWARE"]]
    )
    prepare_broker(broker)
    dramatiq.set_broker(broker)
    try:
        yield broker
    finally:
        broker.close()
        dramatiq.set_broker(previous)


@contextmanager
def in_process_worker(*, threads: int = 4) -> Iterator[StubBroker]:
    """A fresh in-process broker with worker threads executing its messages, for one test."""
    with stub_broker() as broker:
        worker = EmbeddedWorker(threads=threads, broker=broker).start()
        try:
            yield broker
        finally:
            worker.stop(timeout_seconds=10)


def wait_for_run(run: WorkflowRun, *, timeout: float = 10.0, states=None) -> WorkflowRun:
    """Poll until the run reaches one of ``states`` (default: finished); fails with its tasks."""
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if run.state in (states or ("success", "failed", "cancelled")):
            return run
        if time.monotonic() > deadline:
            tasks = {t.task_name: t.state for t in run.task_runs.all()}
            raise AssertionError(f"run {run} still {run.state} after {timeout} s: {tasks}")
        time.sleep(0.02)
