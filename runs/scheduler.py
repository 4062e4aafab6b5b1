"""The scheduler: starts runs when their schedule is due, and repairs what was lost.

Each tick (at most a second apart) it starts due runs and runs the recovery
sweeps of ``runs.recovery``. Schedules are held in memory, ordered by their
next slot (``runs.schedule_book``); when django-celery-beat's ``PeriodicTasks``
marker says a row changed, only the changed schedules are read again. Several
schedulers may run; only the one holding the leader lock acts.
"""

import logging
import threading
import time
from datetime import datetime

import dramatiq
from django.conf import settings
from django.db import Error, IntegrityError, close_old_connections, transaction
from django.db.models import F
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from dramatiq.errors import DramatiqError
from redis import RedisError

from workflows.errors import ParameterErrors
from workflows.live import live_code, start_polling
from workflows.models import WorkflowSchedule
from workflows.registry import get_registry
from workflows.sync import sync_workflows

from . import recovery
from .execution.reconnect import DATABASE, Outage, drop_connection, unless_unreachable
from .leader import leader_lock
from .notifications.events import schedule_missed, slots_skipped
from .presence import ProcessKind, forget_heartbeat, prune_heartbeats, record_heartbeat
from .schedule_book import DueSlot, ScheduleBook

logger = logging.getLogger(__name__)

# A message sent on commit raises the broker's own error (Redis's is no DramatiqError).
BROKER_ERRORS = (DramatiqError, RedisError, OSError)


def _broker_answers() -> bool:
    client = getattr(dramatiq.get_broker(), "client", None)  # Redis; the stub has none
    if client is None:
        return True
    try:
        client.ping()
    except RedisError:
        return False
    return True


BROKER = Outage("Broker", answers=_broker_answers)


def start_scheduled_run(slot: DueSlot):
    """Start the run of one slot, exactly once; returns the run or None when skipped."""
    from .services import WorkflowNotRunnable, WorkflowPaused, trigger_run

    schedule = (
        WorkflowSchedule.objects.select_related("workflow", "periodic_task")
        .filter(periodic_task_id=slot.task_id)
        .first()
    )
    if schedule is None:
        return None  # deleted meanwhile; the next reload forgets it
    task, workflow = schedule.periodic_task, schedule.workflow
    if not workflow.is_active:
        return None
    try:
        with transaction.atomic():
            run = trigger_run(
                workflow=workflow,
                parameters=schedule.parameters,
                trigger="schedule",
                schedule=schedule,
                logical_date=slot.at,
                data_interval=(slot.previous, slot.at),
            )
            PeriodicTask.objects.filter(pk=task.pk).update(
                last_run_at=slot.at, total_run_count=F("total_run_count") + 1
            )
            slots_skipped(schedule, previous=slot.previous, started=slot.at)
    except IntegrityError:
        logger.info("Slot %s of %s already started elsewhere", slot.at, workflow.slug)
        return None
    except WorkflowNotRunnable as exc:
        # Paused (trigger_run's rule): the slot passes without a run, as intended.
        level = logging.INFO if isinstance(exc, WorkflowPaused) else logging.WARNING
        logger.log(level, "Schedule %s did not start: %s", task.name, exc)
        _pass_slot(schedule, slot, missed=None if isinstance(exc, WorkflowPaused) else exc)
        return None
    except ParameterErrors as exc:
        # Its parameters no longer fit the code (a type changed): the slot passes, said out
        # loud, and the scheduler carries on with the other schedules.
        logger.warning("Schedule %s did not start: %s", task.name, exc)
        _pass_slot(schedule, slot, missed=exc)
        return None
    return run


def _pass_slot(schedule, slot: DueSlot, *, missed: Exception | None) -> None:
    """The slot passes without a run; unless intended (paused), its rules hear why."""
    with transaction.atomic():
        PeriodicTask.objects.filter(pk=schedule.periodic_task_id).update(last_run_at=slot.at)
        if missed is not None:
            schedule_missed(schedule, slot=slot.at, reason=str(missed))


class Scheduler:
    """One scheduler process (or thread): ``run(stop)`` loops until ``stop`` is set."""

    def __init__(self, *, clock=timezone.now, max_sleep: float = 1.0):
        self.clock = clock
        self.max_sleep = max_sleep
        self.book = ScheduleBook()
        self.lock = leader_lock()
        self.is_leader = False
        # When the database answered again after an outage (stopping workers' heartbeats too).
        self.in_outage = False
        self.database_back_at: datetime | None = None
        self.synced_registry = None  # the live registry last written to the database
        self.tick_seconds: float | None = None  # how long the last leading tick took
        self.next_heartbeat = 0.0

    def run(self, stop: threading.Event) -> None:
        logger.info("Scheduler started")
        start_polling()
        try:
            while not stop.is_set():
                close_old_connections()
                stop.wait(self.safe_tick())
        finally:
            self.lock.release()  # a standby scheduler takes over at its next tick
            unless_unreachable(lambda: forget_heartbeat(ProcessKind.SCHEDULER), None)
            logger.info("Scheduler stopped")

    def safe_tick(self) -> float:
        """``tick``, which a database or broker outage does not end: noted once, tried again.

        After an error the schedules are read afresh: slots popped but not started
        are found again from each schedule's ``last_run_at`` (and a slot started
        twice is refused by the database), so none is lost or doubled.
        """
        tried_at, wait = time.monotonic(), self.max_sleep
        try:
            wait = unless_unreachable(self.tick, self.max_sleep)
        except Error:
            logger.exception("Scheduler: database error; trying again")
            drop_connection()
            self.book.version = None
        except BROKER_ERRORS as exc:
            BROKER.began(exc)
            self.book.version = None
        else:
            BROKER.ended(tried_at)
        if DATABASE.ongoing:
            self.in_outage = True
            self.book.version = None
        return wait

    def tick(self) -> float:
        """Do one round of work; returns how long to sleep before the next."""
        leading = self._lead()
        self.heartbeat()
        if not leading:
            return self.max_sleep
        started, now = time.monotonic(), self.clock()
        if self.in_outage:
            self.in_outage, self.database_back_at = False, now
        self.sync_code()
        self.book.reload_if_changed(now)
        self.process_due(now)
        recovery.sweep(now, heartbeats_since=self.database_back_at)
        self.tick_seconds = time.monotonic() - started
        return min(self.book.seconds_until_next(self.clock()), self.max_sleep)

    def _lead(self) -> bool:
        leading = self.lock.acquire()
        if leading != self.is_leader:
            logger.info("Scheduler is %s", "the leader" if leading else "on standby")
            self.is_leader = leading
            self.book.version = None  # a new leader reads everything afresh
            self.synced_registry = None
        return leading

    def heartbeat(self) -> None:
        """This scheduler is alive (leader or standby), every ``BATON_HEARTBEAT_INTERVAL``."""
        if time.monotonic() < self.next_heartbeat:
            return
        self.next_heartbeat = time.monotonic() + settings.BATON_HEARTBEAT_INTERVAL
        record_heartbeat(
            ProcessKind.SCHEDULER, is_leader=self.is_leader, tick_seconds=self.tick_seconds
        )
        if self.is_leader:
            prune_heartbeats(timezone.now())

    def sync_code(self) -> None:
        """The leader writes a new revision of the live code to the database (versions…)."""
        if live_code() is None:
            return
        registry = get_registry()
        if registry is self.synced_registry:
            return
        self.synced_registry = registry  # tried once per revision, even if it fails below
        try:
            report = sync_workflows(registry=registry)
        except Error:
            self.synced_registry = None  # the database's fault: tried again next tick
            raise
        except Exception:  # the workflows' code must not stop the scheduler
            logger.exception("Scheduler could not sync the workflows of the new code")
            return
        changed = report.created + report.updated + report.deactivated
        if changed:
            logger.info("Scheduler synced the workflows: %s", "; ".join(report.lines()))

    def process_due(self, now: datetime) -> int:
        started = 0
        for slot in self.book.pop_due(now):
            if start_scheduled_run(slot) is not None:
                started += 1
            self.book.push_next(slot)
        return started
