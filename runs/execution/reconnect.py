"""Surviving a database outage: drop the broken connection, reconnect, try again.

A PostgreSQL restart kills every open connection; Django does not reconnect in
the middle of a Dramatiq message, so the next statement of every worker thread
would fail. ``survives_outages`` retries a whole function on a fresh connection
for up to ``BATON_DB_RETRY_SECONDS``; the function must be safe to run twice
(Baton's writes are conditional UPDATEs that recognise their own earlier
commit). Loops that come back on their own (the watch thread, the scheduler)
use ``unless_unreachable`` instead. Either way each outage logs one warning
line per process, and one line when the database answers again.
"""

import functools
import logging
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

DISCONNECTED = (OperationalError, InterfaceError)
_FIRST_PAUSE, _LONGEST_PAUSE = 0.1, 1.0

P = ParamSpec("P")
R = TypeVar("R")


class Outage:
    """Whether this process currently finds something unreachable, to log it once."""

    def __init__(self, what: str, answers: Callable[[], bool] = lambda: True):
        self.what = what
        self.answers = answers  # asked before declaring the outage over
        self._lock = threading.Lock()
        self._since: float | None = None

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def began(self, exc: BaseException) -> None:
        with self._lock:
            if self._since is None:
                self._since = time.monotonic()
                logger.warning("%s unreachable, retrying… (%s)", self.what, _first_line(exc))

    def ended(self, tried_at: float) -> None:
        """A call started at ``tried_at`` (monotonic) succeeded."""
        since = self._since
        # A call under way when the outage began, or one that sent no query, proves nothing.
        if since is None or tried_at <= since or not self.answers():
            return
        with self._lock:
            if self._since is not None:
                logger.warning("%s back after %.1f s", self.what, time.monotonic() - self._since)
                self._since = None


def _connection_works() -> bool:
    return connection.connection is not None and connection.is_usable()


DATABASE = Outage("Database", answers=_connection_works)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` means the connection is gone (not a deadlock or a locked SQLite file)."""
    if not isinstance(exc, DISCONNECTED):
        return False
    return connection.connection is None or not connection.is_usable()


def drop_connection() -> None:
    """Forget this thread's broken connection; the next query opens a new one."""
    # close() forgets the connection even when closing it fails.
    with suppress(*DISCONNECTED):
        connection.close()


def survives_outages(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn``; when the database connection breaks, reconnect and run it again.

    Only outside a transaction (inside one, the error goes up to whoever opened
    it). Other database errors, and an outage longer than BATON_DB_RETRY_SECONDS,
    are raised as they are.
    """

    @functools.wraps(fn)
    def retrying(*args: P.args, **kwargs: P.kwargs) -> R:
        deadline = time.monotonic() + settings.BATON_DB_RETRY_SECONDS
        pause, tries = _FIRST_PAUSE, 0
        while True:
            tried_at = time.monotonic()
            try:
                result = fn(*args, **kwargs)
            except DISCONNECTED as exc:
                tries += 1
                if not _replaced_lost_connection(exc):
                    raise
                if tries == 1:
                    continue  # a connection an outage already over left broken
                DATABASE.began(exc)
                if time.monotonic() + pause > deadline:
                    logger.error(
                        "Database still unreachable after %g s (BATON_DB_RETRY_SECONDS): "
                        "giving up on %s",
                        settings.BATON_DB_RETRY_SECONDS,
                        fn.__qualname__,
                    )
                    raise
                time.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE)
            else:
                DATABASE.ended(tried_at)
                return result

    return retrying


def unless_unreachable(fn: Callable[[], R], otherwise: R) -> R:
    """For a loop that comes back to ``fn`` by itself: ``otherwise`` when the database is down.

    A connection that an outage already over left broken is replaced and ``fn``
    run again at once; an outage still under way is noted (logged once per
    outage) and the loop carries on.
    """
    for retry in (False, True):
        tried_at = time.monotonic()
        try:
            result = fn()
        except DISCONNECTED as exc:
            if not _replaced_lost_connection(exc):
                raise
            if retry:
                DATABASE.began(exc)
        else:
            DATABASE.ended(tried_at)
            return result
    return otherwise


def _replaced_lost_connection(exc: BaseException) -> bool:
    """Drop this thread's connection if ``exc`` means it is lost (never inside a transaction)."""
    if connection.in_atomic_block or not connection_lost(exc):
        return False
    drop_connection()
    return True
