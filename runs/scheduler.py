"""The scheduler: starts runs when their schedule is due, and repairs what was lost.

Each tick (at most a second apart) it starts due runs and runs the recovery
sweeps of ``runs.recovery``. Schedules are held in memory, ordered by their
next slot, and reloaded only when django-celery-beat's ``PeriodicTasks``
marker says a row changed. Several schedulers may run; only the one holding
the leader lock acts.
"""

import heapq
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import F
from django.utils import timezone
from django_celery_beat.models import PeriodicTask, PeriodicTasks

from workflows.models import WorkflowSchedule
from workflows.schedules import BATON_TASK, Timing, next_fire_after, slots_between

from . import recovery
from .leader import leader_lock

logger = logging.getLogger(__name__)

# How far back to look for the latest missed slot of a workflow without catch-up.
_PROBE_WINDOWS = (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=400))


@dataclass(order=True)
class DueSlot:
    at: datetime
    task_id: int = field(compare=False)
    previous: datetime | None = field(compare=False, default=None)


def latest_slot(when, after: datetime, now: datetime) -> datetime | None:
    """The last slot in (after, now], looking back in growing windows to bound the work."""
    for window in _PROBE_WINDOWS:
        start = max(after, now - window)
        slots = slots_between(when, start, now, limit=10_000)
        if slots:
            return slots[-1]
        if start == after:
            return None
    return None


def missed_slots(timing: Timing, last: datetime, catchup: bool, now: datetime) -> list[datetime]:
    """Slots that passed since ``last``: all (bounded) with catch-up, else only the latest."""
    if catchup:
        return slots_between(timing, last, now, limit=settings.BATON_CATCHUP_LIMIT)
    latest = latest_slot(timing, last, now)
    return [latest] if latest else []


_ROW_FIELDS = (
    "pk",
    "last_run_at",
    "start_time",
    "crontab__minute",
    "crontab__hour",
    "crontab__day_of_week",
    "crontab__day_of_month",
    "crontab__month_of_year",
    "crontab__timezone",
    "interval__every",
    "interval__period",
    "clocked__clocked_time",
    "baton_schedule__workflow__catchup",
)


def _timing_of_row(row: tuple) -> Timing:
    _, _, start_time, *cron, tz, every, period, once_at, _ = row
    if cron[0] is not None:
        return Timing(cron=(*cron, str(tz)))
    if every is not None:
        return Timing(every=timedelta(**{period: every}), start_time=start_time)
    return Timing(once_at=once_at)


class ScheduleBook:
    """The enabled Baton schedules' timings, and their next slots in a heap."""

    def __init__(self):
        self.version = None
        self.timings: dict[int, Timing] = {}
        self.heap: list[DueSlot] = []

    def reload_if_changed(self, now: datetime) -> bool:
        version = PeriodicTasks.last_change()
        if self.version is not None and version == self.version:
            return False
        self.version = version
        self.load(now)
        return True

    def load(self, now: datetime) -> None:
        # Plain rows rather than model instances: 10,000 schedules load in well under a second.
        rows = PeriodicTask.objects.filter(
            task=BATON_TASK, enabled=True, baton_schedule__isnull=False
        ).values_list(*_ROW_FIELDS)
        self.timings, self.heap, fresh = {}, [], []
        for row in rows:
            task_id, last_run_at, catchup = row[0], row[1], row[-1]
            timing = self.timings[task_id] = _timing_of_row(row)
            if last_run_at is None:
                last_run_at = now
                fresh.append(task_id)
            self._push_pending(task_id, timing, last_run_at, catchup, now)
        # A new schedule counts from now: nothing before it was "missed".
        PeriodicTask.objects.filter(pk__in=fresh).update(last_run_at=now)
        heapq.heapify(self.heap)
        logger.info("Scheduler loaded %d schedules", len(self.timings))

    def _push_pending(self, task_id, timing, last_run_at, catchup, now) -> None:
        previous = last_run_at
        for slot in missed_slots(timing, last_run_at, catchup, now):
            self.heap.append(DueSlot(slot, task_id, previous))
            previous = slot
        upcoming = next_fire_after(timing, max(previous, now))
        if upcoming is not None:
            self.heap.append(DueSlot(upcoming, task_id, previous))

    def pop_due(self, now: datetime) -> list[DueSlot]:
        due = []
        while self.heap and self.heap[0].at <= now:
            due.append(heapq.heappop(self.heap))
        return due

    def push_next(self, slot: DueSlot) -> None:
        timing = self.timings.get(slot.task_id)
        upcoming = timing and next_fire_after(timing, slot.at)
        if upcoming is not None:
            heapq.heappush(self.heap, DueSlot(upcoming, slot.task_id, slot.at))

    def seconds_until_next(self, now: datetime) -> float:
        if not self.heap:
            return float("inf")
        return max((self.heap[0].at - now).total_seconds(), 0.0)


def start_scheduled_run(slot: DueSlot):
    """Start the run of one slot, exactly once; returns the run or None when skipped."""
    from .services import WorkflowNotRunnable, trigger_run

    schedule = (
        WorkflowSchedule.objects.select_related("workflow", "periodic_task")
        .filter(periodic_task_id=slot.task_id)
        .first()
    )
    if schedule is None:
        return None  # deleted meanwhile; the next reload forgets it
    task, workflow = schedule.periodic_task, schedule.workflow
    if workflow.is_paused or not workflow.is_active:
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
    except IntegrityError:
        logger.info("Slot %s of %s already started elsewhere", slot.at, workflow.slug)
        return None
    except WorkflowNotRunnable as exc:
        logger.warning("Schedule %s did not start: %s", task.name, exc)
        PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=slot.at)
        return None
    return run


class Scheduler:
    """One scheduler process (or thread): ``run(stop)`` loops until ``stop`` is set."""

    def __init__(self, *, clock=timezone.now, max_sleep: float = 1.0):
        self.clock = clock
        self.max_sleep = max_sleep
        self.book = ScheduleBook()
        self.lock = leader_lock()
        self.is_leader = False

    def run(self, stop: threading.Event) -> None:
        logger.info("Scheduler started")
        try:
            while not stop.is_set():
                close_old_connections()
                stop.wait(self.tick())
        finally:
            self.lock.release()
            logger.info("Scheduler stopped")

    def tick(self) -> float:
        """Do one round of work; returns how long to sleep before the next."""
        if not self._lead():
            return self.max_sleep
        now = self.clock()
        self.book.reload_if_changed(now)
        self.process_due(now)
        recovery.sweep(now)
        return min(self.book.seconds_until_next(self.clock()), self.max_sleep)

    def _lead(self) -> bool:
        leading = self.lock.acquire()
        if leading != self.is_leader:
            logger.info("Scheduler is %s", "the leader" if leading else "on standby")
            self.is_leader = leading
            self.book.version = None  # a new leader reads everything afresh
        return leading

    def process_due(self, now: datetime) -> int:
        started = 0
        for slot in self.book.pop_due(now):
            if start_scheduled_run(slot) is not None:
                started += 1
            self.book.push_next(slot)
        return started


class EmbeddedScheduler:
    """The scheduler in a thread, for ``manage.py up``."""

    def __init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=Scheduler().run, args=(self._stop,), name="baton-scheduler", daemon=True
        )

    def start(self) -> "EmbeddedScheduler":
        self._thread.start()
        return self

    def stop(self, timeout_seconds: float = 5) -> None:
        self._stop.set()
        self._thread.join(timeout_seconds)
