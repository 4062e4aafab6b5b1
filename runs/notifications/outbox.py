"""The sender loop: claims due outbox rows, sends them, retries with backoff.

Every worker process and every scheduler runs one sender thread. A row is
claimed with a conditional UPDATE (pending and due → sending), so however many
senders run, one of them sends it. A sender that dies mid-send leaves its row
``sending``; after ``BATON_NOTIFY_LEASE_SECONDS`` another one takes it over
(the one case where a message may go twice: at least once beats never).
"""

import logging
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import Error, close_old_connections, connection
from django.db.models import F, Q
from django.utils import timezone

from ..execution.reconnect import unless_unreachable
from .messages import render
from .models import Notification
from .senders import DeliveryFailed, deliver

logger = logging.getLogger(__name__)

BATCH = 20
LONGEST_DELAY = timedelta(hours=1)
State = Notification.State


def _due(now: datetime) -> Q:
    lease = timedelta(seconds=settings.BATON_NOTIFY_LEASE_SECONDS)
    return Q(state=State.PENDING, next_attempt_at__lte=now) | Q(
        state=State.SENDING, claimed_at__lt=now - lease
    )


def send_due(now: datetime | None = None) -> int:
    """Send the notifications that are due; returns how many this call claimed."""
    now = now or timezone.now()
    due = Notification.objects.filter(_due(now)).order_by("next_attempt_at", "pk")
    claimed = 0
    for pk in list(due.values_list("pk", flat=True)[:BATCH]):
        if claim(pk, now):
            claimed += 1
            send_claimed(pk, now)
    return claimed


def claim(pk: int, now: datetime) -> bool:
    """Take one row for this sender; False when another sender took it first."""
    return bool(
        Notification.objects.filter(_due(now), pk=pk).update(
            state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    )


def send_claimed(pk: int, claimed_at: datetime) -> None:
    notification = (
        Notification.objects.select_related("workflow", "run", "task_run", "user", "channel")
        .filter(pk=pk)
        .first()
    )
    if notification is None:
        return  # deleted meanwhile, with its run or its channel
    try:
        answer = deliver(notification, render(notification))
    except DeliveryFailed as exc:
        _failed(notification, str(exc), claimed_at)
    except Error:
        raise  # the database's fault: the row stays claimed and is taken over later
    except Exception as exc:  # a bug in rendering must not stop the other messages
        logger.exception("Notification %s could not be written", pk)
        _failed(notification, f"Baton could not write the message: {exc!r}", claimed_at)
    else:
        _ours(pk, claimed_at).update(state=State.SENT, sent_at=timezone.now(), answer=answer)


def _ours(pk: int, claimed_at: datetime):
    # Only the sender that holds the claim records the outcome.
    return Notification.objects.filter(pk=pk, state=State.SENDING, claimed_at=claimed_at)


def _failed(notification: Notification, answer: str, claimed_at: datetime) -> None:
    if notification.attempts >= settings.BATON_NOTIFY_ATTEMPTS:
        _ours(notification.pk, claimed_at).update(state=State.FAILED, answer=answer)
        logger.warning("Notification %s failed for good: %s", notification.pk, answer)
        return
    delay = timedelta(seconds=settings.BATON_NOTIFY_RETRY_DELAY) * 2 ** (notification.attempts - 1)
    _ours(notification.pk, claimed_at).update(
        state=State.PENDING,
        answer=answer,
        next_attempt_at=timezone.now() + min(delay, LONGEST_DELAY),
    )


class SenderThread(threading.Thread):
    """Sends due notifications: at once when this process wrote one, else every poll."""

    def __init__(self):
        super().__init__(name="baton-notify", daemon=True)
        self.stopping = threading.Event()

    def run(self):
        try:
            while not self.stopping.is_set():
                _wake.wait(settings.BATON_NOTIFY_POLL_SECONDS)
                _wake.clear()
                if self.stopping.is_set():
                    break
                self.tick()
        finally:
            connection.close()

    def tick(self) -> None:
        try:
            # An outage is logged once (by unless_unreachable); the next turn tries again.
            while unless_unreachable(send_due, 0) == BATCH:
                pass
        except Error:
            logger.exception("Baton notification sender: database error; retrying")
            close_old_connections()
        except Exception:  # one bad row must not stop every later message of this process
            logger.exception("Baton notification sender: unexpected error; carrying on")

    def stop(self) -> None:
        self.stopping.set()
        _wake.set()
        self.join(timeout=15)


_wake = threading.Event()
_sender: SenderThread | None = None
_sender_lock = threading.Lock()


def wake_sender() -> None:
    """Tell this process's sender a notification was just committed."""
    _wake.set()


def start_sender() -> None:
    """Start this process's sender thread (once)."""
    global _sender
    with _sender_lock:
        if _sender is None or not _sender.is_alive():
            _sender = SenderThread()
            _sender.start()


def sender_is_running() -> bool:
    return _sender is not None and _sender.is_alive()


def stop_sender() -> None:
    global _sender
    with _sender_lock:
        if _sender is not None:
            _sender.stop()
            _sender = None
