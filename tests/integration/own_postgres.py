"""A PostgreSQL server of the tests' own, that they may stop and restart under real processes.

The machine's PostgreSQL is shared and never restarted: ``own_postgres`` runs
``initdb`` and ``pg_ctl`` (as the ``postgres`` OS user when the tests run as
root) on a free port in a temporary folder, with the test database's schema.
``on_own_postgres`` points this process's Django connection at it for one test,
with the test workflows synced and the broker emptied, and back afterwards.
"""

import os
import shutil
import subprocess
import tempfile
import time
from contextlib import suppress
from glob import glob
from pathlib import Path

import dramatiq
import pytest
from django.db import OperationalError, close_old_connections, connection

from runs.testing import use_workflows
from tests.conftest import REQUIRE_SERVICES
from tests.processes import free_port

from .conftest import WORKFLOWS, database_url

PG_BINS = sorted(glob("/usr/lib/postgresql/*/bin"))


class OwnPostgres:
    """One PostgreSQL cluster in ``folder``, listening on 127.0.0.1:``port``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.bin = Path(PG_BINS[-1])

    def _run(self, tool: str, *args: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        command = [*as_postgres, str(self.bin / tool), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _ctl(self, action: str, *args: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", action, *args)

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def url(self, name: str = "baton") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def copy_schema_from(self, source_url: str, name: str = "baton") -> None:
        psql = [str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1"]
        subprocess.run([*psql, self.url("postgres"), "-c", f"CREATE DATABASE {name}"], check=True)
        dump = subprocess.run(
            [str(self.bin / "pg_dump"), "--schema-only", "--no-owner", source_url],
            check=True,
            capture_output=True,
            timeout=60,
        )
        subprocess.run([*psql, self.url(name)], input=dump.stdout, check=True, timeout=60)


@pytest.fixture(scope="session")
def own_postgres(postgres, django_db_setup, django_db_blocker):
    """A PostgreSQL server of the tests' own, with the test database's tables (empty)."""
    if not PG_BINS:
        message = "this test needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin)"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message} (BATON_REQUIRE_SERVICES=1)")
        pytest.skip(message)
    folder = Path(tempfile.mkdtemp(prefix="baton-own-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    server = OwnPostgres(folder)
    try:
        server.init()
        server.start()
        with django_db_blocker.unblock():
            server.copy_schema_from(database_url())
        yield server
    finally:
        with suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def on_own_postgres(own_postgres, transactional_db, redis_url):
    """This process's database is ``own_postgres`` for the test: emptied, workflows synced."""
    settings_dict = connection.settings_dict
    original = dict(settings_dict)
    connection.close()
    settings_dict.update(HOST="127.0.0.1", PORT=own_postgres.port, NAME="baton", USER="postgres")
    settings_dict.update(PASSWORD="")
    try:
        _empty_tables()
        broker = dramatiq.get_broker()
        broker.declare_queue("default")
        broker.flush_all()
        with use_workflows(WORKFLOWS):
            yield own_postgres
    finally:
        connection.close()
        settings_dict.clear()
        settings_dict.update(original)


def _empty_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = ", ".join(connection.ops.quote_name(name) for (name,) in cursor.fetchall())
        # The audit tables refuse TRUNCATE by a trigger; a superuser's replica role skips it.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        cursor.execute("RESET session_replication_role")


def answering(query, timeout: float = 30):
    """``query()`` once this process's connection works again (after a restart)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return query()
        except OperationalError:
            if time.monotonic() > deadline:
                raise
            connection.close()
            close_old_connections()
            time.sleep(0.1)
