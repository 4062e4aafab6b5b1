"""One scheduler acts at a time: the leader holds a lock that dies with its process.

PostgreSQL: a session advisory lock on a connection of its own, released by the
server as soon as the leader's connection drops (process killed, machine gone).
SQLite (the embedded default, one machine): an exclusive lock on a file.
"""

import fcntl
import logging
from pathlib import Path

from django.db import connection

from config.database_files import file_for_database

from .execution.reconnect import DATABASE

logger = logging.getLogger(__name__)

# An arbitrary constant naming Baton's scheduler lock among advisory locks.
ADVISORY_LOCK_KEY = 0x0BA7_0005


class PostgresLeaderLock:
    """Leader while its own connection holds the advisory lock; a lost connection loses it.

    The server frees the lock when the session ends (a PostgreSQL restart ends
    them all), so after a lost connection this process leads again only once it
    has taken the lock again, on a new connection.
    """

    def __init__(self):
        self._conn = None

    def _connect(self):
        import psycopg

        params = connection.get_connection_params()
        params.pop("cursor_factory", None)
        params.pop("context", None)
        params.setdefault("connect_timeout", 5)
        conn = psycopg.connect(**params, autocommit=True)
        # The server drops (and unlocks) a vanished leader's session within ~10 s.
        for name, value in (("idle", 4), ("interval", 2), ("count", 3)):
            conn.execute(f"SET tcp_keepalives_{name} = {value}")
        return conn

    def acquire(self) -> bool:
        """True while this process is the leader; tries to become it otherwise."""
        import psycopg

        holding = self._conn is not None and not self._conn.closed
        try:
            if not holding:
                self._conn = self._connect()
                (got,) = self._conn.execute(
                    "SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY]
                ).fetchone()
                if not got:
                    self.release()
                return got
            self._conn.execute("SELECT 1")  # still connected, so still holding it
            return True
        except psycopg.Error as exc:
            if holding:
                logger.warning("Scheduler lost its database connection, and the lock: %s", exc)
            DATABASE.began(exc)  # logged once per outage, however many ticks it lasts
            self.release()
            return False

    def release(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class FileLeaderLock:
    def __init__(self, path: Path | None = None):
        self.path = path or file_for_database("scheduler.lock")
        self._file = None

    def acquire(self) -> bool:
        if self._file is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self):
        if self._file is not None:
            self._file.close()
            self._file = None


def leader_lock():
    if connection.vendor == "postgresql":
        return PostgresLeaderLock()
    return FileLeaderLock()
