"""The scheduler's book: enabled Baton schedules' timings, and their next slots in a heap.

The first load reads every schedule; afterwards, when django-celery-beat's
``PeriodicTasks`` marker moves, only what changed is read again: the rows whose
``date_changed`` is recent, the rows of a crontab/interval/clocked timing that
was edited, and the rows that joined or left the enabled set (a deletion, a
``WorkflowSchedule`` added later). A reloaded schedule's older heap entries
are left in the heap and skipped when popped (its epoch moved on).
"""

import heapq
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Sum, TextField
from django.db.models.functions import Cast
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTasks,
)

from workflows.models import Workflow
from workflows.schedules import BATON_TASK, Timing, next_fire_after, slots_between

logger = logging.getLogger(__name__)

# How far back of the last marker a row's ``date_changed`` is still read as new: covers a
# saving transaction that committed late and clocks of other machines running behind.
CHANGE_MARGIN = timedelta(minutes=2)
# Past this many changed schedules, reading all of them again is the cheaper way.
FULL_RELOAD_ABOVE = 5000

# How far back to look for the latest missed slot of a workflow without catch-up.
_PROBE_WINDOWS = (timedelta(hours=1), timedelta(days=1), timedelta(days=32), timedelta(days=400))


@dataclass(order=True)
class DueSlot:
    at: datetime
    task_id: int = field(compare=False)
    previous: datetime | None = field(compare=False, default=None)
    epoch: int = field(compare=False, default=0)


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
    "last_run_text",
    "baton_schedule__workflow_id",
    "start_time",
    "crontab_id",
    "interval_id",
    "clocked_id",
)


class _Timings:
    """Each row's Timing, built from the timing tables once per distinct timing."""

    def __init__(self, tables: dict[str, dict]):
        self.tables = tables
        self.made: dict[tuple, Timing] = {}

    def of(self, start_time, crontab_id, interval_id, clocked_id) -> Timing:
        key = (start_time if interval_id else None, crontab_id, interval_id, clocked_id)
        timing = self.made.get(key)
        if timing is None:
            timing = self.made[key] = self._make(start_time, crontab_id, interval_id, clocked_id)
        return timing

    def _make(self, start_time, crontab_id, interval_id, clocked_id) -> Timing:
        ids = {"crontab": crontab_id, "interval": interval_id, "clocked": clocked_id}
        if any(pk is not None and pk not in self.tables[name] for name, pk in ids.items()):
            self.tables.update(_timing_tables())  # one created after the tables were read
        if crontab_id is not None:
            *fields, tz = self.tables["crontab"][crontab_id]
            return Timing(cron=(*fields, str(tz)))
        if interval_id is not None:
            every, period = self.tables["interval"][interval_id]
            return Timing(every=timedelta(**{period: every}), start_time=start_time)
        if clocked_id is not None:
            return Timing(once_at=self.tables["clocked"][clocked_id][0])
        return Timing()


class _Moments(dict):
    """Datetimes from their database text, each parsed once: schedules sharing a cron line
    ran at the same slots, and parsing 50,000 timestamps would cost most of a load."""

    def __missing__(self, text: str) -> datetime:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:  # SQLite keeps UTC without an offset
            moment = moment.replace(tzinfo=UTC)
        self[text] = moment
        return moment


def _enabled_schedules():
    return PeriodicTask.objects.filter(task=BATON_TASK, enabled=True, baton_schedule__isnull=False)


CRON_COLUMNS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year", "timezone")


def _timing_tables() -> dict[str, dict]:
    """Every crontab, interval and clocked row as plain values, to tell which one was edited."""
    columns = {
        "crontab": (CrontabSchedule, CRON_COLUMNS),
        "interval": (IntervalSchedule, ("every", "period")),
        "clocked": (ClockedSchedule, ("clocked_time",)),
    }
    return {
        name: {pk: tuple(rest) for pk, *rest in model.objects.values_list("pk", *fields)}
        for name, (model, fields) in columns.items()
    }


def _tasks_of_edited_timings(before: dict, after: dict) -> set[int]:
    edited = {
        f"{name}_id__in": [
            pk for pk, values in rows.items() if before.get(name, {}).get(pk) != values
        ]
        for name, rows in after.items()
    }
    found = set()
    for lookup, ids in edited.items():
        if ids:
            found |= set(PeriodicTask.objects.filter(**{lookup: ids}).values_list("pk", flat=True))
    return found


def _pending_slots(timing: Timing, last_run_at: datetime, catchup: bool, now: datetime) -> list:
    """The slots missed since ``last_run_at`` and the next one to come, oldest first."""
    slots = missed_slots(timing, last_run_at, catchup, now)
    upcoming = next_fire_after(timing, max(slots[-1] if slots else last_run_at, now))
    return [*slots, upcoming] if upcoming is not None else slots


class ScheduleBook:
    """The enabled Baton schedules' timings, and their next slots in a heap."""

    def __init__(self):
        self.version = None  # None: the next reload reads everything
        self.timings: dict[int, Timing] = {}
        self.heap: list[DueSlot] = []
        self.latest: dict[int, datetime] = {}  # per schedule, the last slot in the heap
        self.epochs: dict[int, int] = {}  # per schedule, moved on when it is read again
        self.changed_at: dict[int, datetime] = {}  # per schedule, its date_changed when read
        self.tables: dict[str, dict] = {}
        self.membership = [0, 0]  # count and sum of the loaded schedules' ids

    def reload_if_changed(self, now: datetime) -> bool:
        version = PeriodicTasks.last_change()
        if self.version is not None and version == self.version:
            return False
        if self.version is None or version is None:
            self.load(now)
        else:
            self.refresh(since=min(self.version, version) - CHANGE_MARGIN, now=now)
        self.version = version
        return True

    def load(self, now: datetime) -> None:
        """Read every enabled schedule afresh."""
        self.tables = _timing_tables()
        self.timings, self.heap, self.latest, self.epochs = {}, [], {}, {}
        self.membership = [0, 0]
        # Rows are compared by date_changed only within the margin: only those are kept.
        self.changed_at = dict(
            PeriodicTask.objects.filter(date_changed__gte=now - 2 * CHANGE_MARGIN).values_list(
                "pk", "date_changed"
            )
        )
        self.heap = self._read(_enabled_schedules(), now)
        heapq.heapify(self.heap)
        logger.info("Scheduler loaded %d schedules", len(self.timings))

    def refresh(self, *, since: datetime, now: datetime) -> None:
        """Read again only the schedules changed since ``since``; forget those that left."""
        recent = PeriodicTask.objects.filter(date_changed__gte=since)
        recent = dict(recent.values_list("pk", "date_changed"))
        changed = {pk for pk, at in recent.items() if self.changed_at.get(pk) != at}
        tables = _timing_tables()
        changed |= _tasks_of_edited_timings(self.tables, tables)
        self.tables = tables
        self._read_again(changed, recent, now)
        # What no date_changed tells: a deleted row, a row linked to a workflow later.
        totals = _enabled_schedules().order_by().aggregate(count=Count("pk"), sum=Sum("pk"))
        if [totals["count"], totals["sum"] or 0] != self.membership:
            enabled = set(_enabled_schedules().order_by().values_list("pk", flat=True))
            self._read_again(enabled.symmetric_difference(self.timings), recent, now)
        if len(self.heap) > 2 * len(self.timings) + 1000:
            self.heap = [slot for slot in self.heap if self._current(slot)]
            heapq.heapify(self.heap)

    def _read_again(self, changed: set[int], recent: dict, now: datetime) -> None:
        if len(changed) > FULL_RELOAD_ABOVE:
            self.load(now)
            return
        for task_id in changed:
            self._forget(task_id)
            self.changed_at[task_id] = recent.get(task_id)  # not read again until it changes
        for slot in self._read(_enabled_schedules().filter(pk__in=changed), now):
            heapq.heappush(self.heap, slot)

    def _read(self, schedules, now: datetime) -> list[DueSlot]:
        # Plain rows rather than model instances, and the time maths done once per distinct
        # timing and date: schedules sharing a cron line share their slots.
        timings = _Timings(self.tables)
        catchup_of = dict(Workflow.objects.values_list("pk", "catchup"))
        pending, moments, slots, fresh = {}, _Moments(), [], False
        rows = schedules.annotate(last_run_text=Cast("last_run_at", TextField()))
        for task_id, last_run_text, workflow_id, *timing_ids in rows.values_list(*_ROW_FIELDS):
            timing = self.timings[task_id] = timings.of(*timing_ids)
            self.membership[0] += 1
            self.membership[1] += task_id
            if last_run_text is None:
                last_run_at, fresh = now, True
            else:
                last_run_at = moments[last_run_text]
            key = (id(timing), last_run_at, catchup_of.get(workflow_id, False))
            if key not in pending:
                pending[key] = _pending_slots(timing, last_run_at, key[2], now)
            epoch, previous = self.epochs.get(task_id, 0), last_run_at
            for slot in pending[key]:
                slots.append(DueSlot(slot, task_id, previous, epoch))
                previous = slot
            if pending[key]:
                self.latest[task_id] = previous
        if fresh:
            # A new schedule counts from now: nothing before it was "missed". (One added since
            # the read above counts from now too when it is read.)
            schedules.filter(last_run_at__isnull=True).update(last_run_at=now)
        return slots

    def _forget(self, task_id: int) -> None:
        if self.timings.pop(task_id, None) is not None:
            self.membership[0] -= 1
            self.membership[1] -= task_id
        self.latest.pop(task_id, None)
        self.epochs[task_id] = self.epochs.get(task_id, 0) + 1

    def _current(self, slot: DueSlot) -> bool:
        return slot.task_id in self.timings and slot.epoch == self.epochs.get(slot.task_id, 0)

    def pop_due(self, now: datetime) -> list[DueSlot]:
        due = []
        while self.heap and self.heap[0].at <= now:
            slot = heapq.heappop(self.heap)
            if self._current(slot):
                due.append(slot)
        return due

    def push_next(self, slot: DueSlot) -> None:
        if not self._current(slot):
            return  # read again meanwhile: its new slots are in the heap already
        if self.latest.get(slot.task_id, slot.at) > slot.at:
            return  # a caught-up slot: the later ones are in the heap already
        timing = self.timings.get(slot.task_id)
        upcoming = timing and next_fire_after(timing, slot.at)
        if upcoming is not None:
            heapq.heappush(self.heap, DueSlot(upcoming, slot.task_id, slot.at, slot.epoch))
            self.latest[slot.task_id] = upcoming

    def seconds_until_next(self, now: datetime) -> float:
        while self.heap and not self._current(self.heap[0]):
            heapq.heappop(self.heap)
        if not self.heap:
            return float("inf")
        return max((self.heap[0].at - now).total_seconds(), 0.0)
