"""Cursors whose statements PostgreSQL parses and plans once per connection.

Django binds parameters on the client and never prepares (so that transaction
poolers keep working): PostgreSQL then parses and plans every statement anew,
which for the few statements each task runs (``runs.execution.statements``) costs
more of its CPU than executing them (a 1,000-task fan-out: 1.0 -> 0.5 ms of
PostgreSQL CPU per task). A prepared statement lives in its connection's session;
a pooler in transaction mode needs protocol-level prepared statement support
(PgBouncer >= 1.21, ``max_prepared_statements``).

Each thread's connection keeps one such cursor: a new psycopg cursor per statement
(with its adaptation caches to fill again) costs about as much client CPU as the
statement's whole round trip.
"""

import sys
import threading

from django.db import DEFAULT_DB_ALIAS, connections

try:
    import psycopg
except ImportError:  # SQLite only, or psycopg 2
    psycopg = None

# Django leaves psycopg's threshold at None, which turns preparing off even when asked;
# so high, nothing else on the connection is prepared (Django's cursors never are).
_ONLY_WHEN_ASKED = sys.maxsize

_kept = threading.local()  # this thread's (psycopg connection, _PreparedStatements)


class _PreparedStatements:
    """A connection's preparing cursor, with Django's checks and error wrapping.

    Used as ``with prepared_cursor() as cursor``, like a Django cursor; leaving the
    block keeps it open for the next statement.
    """

    def __init__(self, db, cursor):
        self.db = db
        self.cursor = cursor

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return None

    def execute(self, sql: str, params) -> None:
        self.db.validate_no_broken_transaction()
        with self.db.wrap_database_errors:
            self.cursor.execute(sql, params, prepare=True)

    def fetchone(self):
        with self.db.wrap_database_errors:
            return self.cursor.fetchone()

    def fetchall(self) -> list:
        with self.db.wrap_database_errors:
            return self.cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount


def prepared_cursor(db=None):
    """A cursor like ``db.cursor()``; on PostgreSQL with psycopg 3, a preparing one.

    ``db``: a connection (default: the default database's). Django's query log
    (DEBUG, assertNumQueries) reads a statement's text from the cursor, which
    psycopg leaves empty for a prepared one: while queries are logged, they run
    on a Django cursor, unprepared.
    """
    db = db or connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql" or psycopg is None or db.queries_logged:
        return db.cursor()
    db.close_if_health_check_failed()
    db.ensure_connection()
    raw = db.connection
    kept = getattr(_kept, "statements", None)
    if kept is not None and kept[0] is raw and not kept[1].cursor.closed:
        return kept[1]
    if not isinstance(raw, psycopg.Connection):
        return db.cursor()
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _ONLY_WHEN_ASKED
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        statements = _PreparedStatements(db, psycopg.Cursor(raw))
    _kept.statements = (raw, statements)
    return statements
