"""Cursors whose statements PostgreSQL parses and plans once per connection.

Django binds parameters on the client and never prepares (so that transaction
poolers keep working): PostgreSQL then parses and plans every statement anew,
which for the few statements each task runs (``runs.execution.statements``) costs
more of its CPU than executing them (a 1,000-task fan-out: 1.0 -> 0.5 ms of
PostgreSQL CPU per task). A prepared statement lives in its connection's session;
a pooler in transaction mode needs protocol-level prepared statement support
(PgBouncer >= 1.21, ``max_prepared_statements``).
"""

import sys

from django.db import connection

try:
    import psycopg
except ImportError:  # SQLite only, or psycopg 2
    psycopg = None


if psycopg is not None:
    # Django leaves psycopg's threshold at None, which turns preparing off even when asked;
    # so high, nothing else on the connection is prepared (Django's cursors never are).
    _ONLY_WHEN_ASKED = sys.maxsize

    class _PreparingCursor(psycopg.Cursor):
        """Server-side binding, each statement prepared on its first run."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)


def prepared_cursor():
    """A cursor like ``connection.cursor()``; on PostgreSQL with psycopg 3, a preparing one.

    What Django's ``connection.cursor()`` does (health check, connect, error
    wrapping, the debug cursor that counts queries), on a cursor of our own class.
    """
    # Django's query log (DEBUG, assertNumQueries) reads the text of a statement from the
    # cursor, which psycopg leaves empty for a prepared one: logged, they run unprepared.
    if connection.vendor != "postgresql" or psycopg is None or connection.queries_logged:
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if not isinstance(raw, psycopg.Connection):
        return connection.cursor()
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _ONLY_WHEN_ASKED
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_PreparingCursor(raw))
