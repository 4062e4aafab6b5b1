"""Real `manage.py runworker` processes on Redis and PostgreSQL, for the integration tests.

They need both services (the ``redis_url`` and ``postgres`` fixtures): skipped
locally without them, failing in CI (BATON_REQUIRE_SERVICES=1).
"""

import os
from pathlib import Path
from urllib.parse import quote

import dramatiq
import pytest
from django.db import connection

from runs.testing import use_workflows
from tests.processes import ManageProcess

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = Path(__file__).parent / "workflows"
SECRET = "integration-s3cr3t"
READY = "Worker process is ready for action."


def database_url() -> str:
    """The test database, as a DATABASE_URL for the worker processes."""
    db = connection.settings_dict
    user = quote(db["USER"] or "")
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


class WorkerProcess(ManageProcess):
    """`manage.py runworker` in its own process group, its output in a file."""

    name = "the worker"

    def __init__(self, env: dict, log_path: Path, threads: int = 4):
        super().__init__(["runworker", "-p", "1", "-t", str(threads)], env, log_path)

    def wait_ready(self, timeout: float = 30) -> None:
        self.wait_while_alive(lambda: READY in self.output(), timeout, "the worker did not start")


@pytest.fixture(scope="session")
def worker_env(redis_url, postgres, django_db_setup):
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "BROKER_URL": redis_url,
        "BATON_WORKFLOWS_DIR": str(WORKFLOWS),
        "BATON_TEST_TOKEN": SECRET,
        "BATON_HEARTBEAT_INTERVAL": "0.5",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def loaded(transactional_db, redis_url, monkeypatch):
    """The test workflows loaded and synced here too, and an empty Redis queue."""
    monkeypatch.setenv("BATON_TEST_TOKEN", SECRET)
    broker = dramatiq.get_broker()
    broker.declare_queue("default")
    broker.flush_all()
    with use_workflows(WORKFLOWS):
        yield


@pytest.fixture(scope="module")
def shared_worker(worker_env, tmp_path_factory):
    """One worker process for a module's tests (each worker takes ~1 s to boot)."""
    worker = WorkerProcess(worker_env, tmp_path_factory.mktemp("worker") / "worker.log")
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def own_worker(worker_env, tmp_path):
    """A worker process for one test, which may kill it."""
    worker = WorkerProcess(worker_env, tmp_path / "worker.log")
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


# The fault tests' own PostgreSQL server, which they stop and restart.
from .own_postgres import on_own_postgres, own_postgres  # noqa: E402, F401


@pytest.fixture
def processes(tmp_path):
    """``processes(cls, env, name, **kwargs)`` starts a ManageProcess; all stop at the end."""
    started = []

    def start(cls, env, name, **kwargs):
        process = cls(env, tmp_path / f"{name}.log", **kwargs)
        started.append(process)
        return process

    yield start
    for process in reversed(started):
        process.stop()
