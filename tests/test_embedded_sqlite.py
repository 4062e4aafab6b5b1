"""SQLite, however it is named, lets threads write side by side: they wait, never "locked"."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection, transaction

from workflows.models import WorkflowLoadError

ROOT = Path(__file__).resolve().parent.parent

SHOW_CONNECTION = (
    "from django.db import connection as c; cursor = c.cursor();"
    "print(c.transaction_mode, cursor.execute('PRAGMA busy_timeout').fetchone()[0],"
    " cursor.execute('PRAGMA journal_mode').fetchone()[0])"
)


def connection_settings(env: dict) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL")}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", SHOW_CONNECTION],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_default_sqlite_file_has_immediate_transactions_a_timeout_and_wal(tmp_path):
    env = {"BATON_SQLITE_PATH": str(tmp_path / "baton.sqlite3")}
    assert connection_settings(env) == ["IMMEDIATE", "20000", "wal"]


def test_a_sqlite_database_url_gets_the_same(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'baton.sqlite3'}"}
    assert connection_settings(env) == ["IMMEDIATE", "20000", "wal"]


@pytest.mark.django_db(transaction=True)
def test_a_transaction_that_reads_then_writes_waits_for_a_writer_instead_of_failing():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's locking")
    has_read, other_wrote = threading.Event(), threading.Event()
    errors = []

    def reads_then_writes():
        try:
            with transaction.atomic():
                WorkflowLoadError.objects.count()
                has_read.set()
                # A deferred transaction lets the other thread commit here, then cannot write.
                other_wrote.wait(timeout=1)
                WorkflowLoadError.objects.create(file="a.py", message="first")
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            has_read.set()
            connection.close()

    def writes():
        has_read.wait(timeout=10)
        try:
            WorkflowLoadError.objects.create(file="b.py", message="second")
        except Exception as exc:
            errors.append(exc)
        finally:
            other_wrote.set()
            connection.close()

    threads = [threading.Thread(target=reads_then_writes), threading.Thread(target=writes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(WorkflowLoadError.objects.values_list("file", flat=True)) == ["a.py", "b.py"]
