"""Each database has its own scheduler lock and admin password (`make run` beside `make test`)."""

import os
import subprocess
import sys
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection
from django_celery_beat.models import PeriodicTask

from accounts.local_admin import ensure_local_admin, password_file
from runs.leader import FileLeaderLock
from runs.models import WorkflowRun
from runs.scheduler import Scheduler
from runs.testing import stub_broker, use_workflows

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = Path(__file__).parent / "scheduler_workflows"
NOON = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)

HOLD_THE_LOCK = (
    "import sys; from runs.leader import leader_lock; lock = leader_lock();"
    "print('leading' if lock.acquire() else 'standby', flush=True); sys.stdin.read()"
)


@contextmanager
def another_instance_leading(folder: Path):
    """A scheduler of another embedded database in this checkout, as `make run` has."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL")}
    env["BATON_SQLITE_PATH"] = str(folder / "dev.sqlite3")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", HOLD_THE_LOCK],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "leading"
        yield
    finally:
        process.stdin.close()
        process.wait(timeout=30)


@pytest.fixture
def loaded(db):
    with use_workflows(WORKFLOWS), stub_broker():
        yield


def test_another_databases_scheduler_leaves_this_ones_lock_free(loaded, tmp_path):
    PeriodicTask.objects.filter(baton_schedule__workflow__slug="hourly_report").update(
        last_run_at=NOON
    )
    with another_instance_leading(tmp_path):
        lock = FileLeaderLock()
        try:
            assert lock.acquire(), f"{lock.path} is held by the other instance"
        finally:
            lock.release()
        scheduler = Scheduler(clock=lambda: NOON + timedelta(hours=1, seconds=1))
        scheduler.tick()
        scheduler.lock.release()
    assert scheduler.is_leader
    started = WorkflowRun.objects.filter(workflow__slug="hourly_report", trigger="schedule")
    assert list(started.values_list("logical_date", flat=True)) == [NOON + timedelta(hours=1)]


@pytest.mark.django_db
def test_each_database_keeps_its_own_admin_password(tmp_path, monkeypatch):
    login = ensure_local_admin()
    try:
        assert login.password and login.password_file.read_text().strip() == login.password
        # The file of another database (`make run`'s) is another file.
        monkeypatch.setitem(connection.settings_dict, "NAME", str(tmp_path / "dev.sqlite3"))
        assert password_file() != login.password_file
        assert not password_file().exists()
    finally:
        login.password_file.unlink(missing_ok=True)


@pytest.mark.django_db
def test_the_default_database_takes_over_the_password_file_of_older_versions(
    tmp_path, settings, monkeypatch
):
    if connection.vendor != "sqlite":
        pytest.skip("the default database is the SQLite file")
    database = tmp_path / "baton.sqlite3"
    monkeypatch.setitem(connection.settings_dict, "NAME", str(database))
    settings.VAR_DIR, settings.SQLITE_PATH = tmp_path, database
    (tmp_path / "admin-password.txt").write_text("from-an-older-version\n")
    assert password_file().read_text() == "from-an-older-version\n"
    assert password_file() == tmp_path / "baton.admin-password.txt"
    assert not (tmp_path / "admin-password.txt").exists()
