"""Schedules: cron strings and intervals declared in code, kept as django-celery-beat rows.

The timing of a schedule lives in django-celery-beat's models (CrontabSchedule
with its timezone, IntervalSchedule, ClockedSchedule) so admins edit it in the
admin. Their schedule objects do the time maths; no Celery process runs.
"""

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from celery.schedules import crontab
from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
)
from django_celery_beat.tzcrontab import TzAwareCrontab

from .errors import DefinitionError

CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
# The `task` name of the PeriodicTask rows Baton starts workflows from.
BATON_TASK = "baton.run_workflow"


def parse_cron(expression: str, where: dict | None = None) -> dict:
    """The five fields of a cron string, checked; DefinitionError names a bad one."""
    parts = expression.split()
    if len(parts) != 5:
        raise DefinitionError(
            f"cron schedule {expression!r} must have 5 fields (minute hour day-of-month "
            f"month day-of-week), e.g. '0 3 * * *'",
            **(where or {}),
        )
    fields = dict(zip(CRON_FIELDS, parts, strict=True))
    try:
        crontab(**fields)
    except (ValueError, IndexError) as exc:
        raise DefinitionError(
            f"cron schedule {expression!r} is invalid: {exc}", **(where or {})
        ) from None
    return fields


# --- Identity of a timing, to tell code's declaration from an admin's edit -----------


def declared_key(schedule: str | timedelta | None) -> str:
    """A comparable text for a schedule declared in code ('' when none)."""
    if schedule is None:
        return ""
    if isinstance(schedule, timedelta):
        return f"every {int(schedule.total_seconds())}s"
    return f"cron {' '.join(schedule.split())} {settings.TIME_ZONE}"


def row_key(task: PeriodicTask) -> str:
    """The same text for a PeriodicTask row as it is now."""
    if task.crontab_id:
        c = task.crontab
        fields = (c.minute, c.hour, c.day_of_month, c.month_of_year, c.day_of_week)
        return f"cron {' '.join(fields)} {c.timezone}"
    if task.interval_id:
        return f"every {int(Timing.of(task).every.total_seconds())}s"
    if task.clocked_id:
        return f"once {task.clocked.clocked_time.isoformat()}"
    return ""


def timing_from_declaration(schedule: str | timedelta) -> dict:
    """PeriodicTask keyword arguments (crontab=... or interval=...) for a declaration."""
    if isinstance(schedule, timedelta):
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=int(schedule.total_seconds()), period=IntervalSchedule.SECONDS
        )
        return {"interval": interval, "crontab": None, "clocked": None, "one_off": False}
    fields = parse_cron(schedule)
    cron, _ = CrontabSchedule.objects.get_or_create(**fields, timezone=settings.TIME_ZONE)
    return {"crontab": cron, "interval": None, "clocked": None, "one_off": False}


# --- Time maths ------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """When a schedule fires, read off its django-celery-beat row (cheap to hold in memory)."""

    cron: tuple[str, str, str, str, str, str] | None = None  # the 5 fields and the zone
    every: timedelta | None = None
    start_time: datetime | None = None
    once_at: datetime | None = None

    @classmethod
    def of(cls, task: PeriodicTask) -> "Timing":
        if task.crontab_id:
            c = task.crontab
            fields = (c.minute, c.hour, c.day_of_week, c.day_of_month, c.month_of_year)
            return cls(cron=(*fields, str(c.timezone)))
        if task.interval_id:
            every = timedelta(**{task.interval.period: task.interval.every})
            return cls(every=every, start_time=task.start_time)
        if task.clocked_id:
            return cls(once_at=task.clocked.clocked_time)
        return cls()


@lru_cache(maxsize=4096)
def _crontab(minute, hour, day_of_week, day_of_month, month_of_year, tz) -> TzAwareCrontab:
    # Parsing a cron spec costs more than the maths: schedules sharing one reuse it.
    return TzAwareCrontab(minute, hour, day_of_week, day_of_month, month_of_year, tz=ZoneInfo(tz))


def next_fire_after(when: "Timing | PeriodicTask", after: datetime) -> datetime | None:
    """The first slot strictly after ``after`` (aware), or None if there is none."""
    timing = when if isinstance(when, Timing) else Timing.of(when)
    if timing.cron:
        cron = _crontab(*timing.cron)
        start, delta, _ = cron.remaining_delta(after, tz=cron.tz)
        # Wall-clock arithmetic in the schedule's zone, as cron does across DST.
        return start + delta
    if timing.every:
        anchor = timing.start_time or after
        if after < anchor:
            return anchor
        elapsed = (after - anchor) // timing.every
        return anchor + (elapsed + 1) * timing.every
    if timing.once_at:
        return timing.once_at if timing.once_at > after else None
    return None


def slots_between(when: "Timing | PeriodicTask", after: datetime, until: datetime, limit: int):
    """Up to ``limit`` slots in (after, until], oldest first."""
    timing = when if isinstance(when, Timing) else Timing.of(when)
    slots, current = [], after
    while len(slots) < limit:
        current = next_fire_after(timing, current)
        if current is None or current > until:
            break
        slots.append(current)
    return slots


# --- Plain language ----------------------------------------------------------------------


def describe_cron(expression: str, tz: str) -> str:
    from cron_descriptor import ExpressionDescriptor, Options

    options = Options()
    options.use_24hour_time_format = True
    options.locale_code = "fr_FR" if translation.get_language() == "fr" else "en_US"
    minute, hour, *days = expression.split()
    if days == ["*", "*", "*"] and minute.isdigit() and hour.isdigit():
        return _("every day at %(time)s, %(tz)s") % {
            "time": f"{int(hour):02d}:{int(minute):02d}",
            "tz": tz,
        }
    text = _translate_calendar_names(ExpressionDescriptor(expression, options).get_description())
    return f"{text[:1].lower()}{text[1:]}, {tz}"


def _translate_calendar_names(text: str) -> str:
    # cron-descriptor names days and months in the process locale (English here).
    from django.utils.dates import MONTHS, WEEKDAYS

    english = list(calendar.day_name) + list(calendar.month_name)[1:]
    local = [WEEKDAYS[i] for i in range(7)] + [MONTHS[i] for i in range(1, 13)]
    for name, translated in zip(english, local, strict=True):
        text = text.replace(name, str(translated))
    return text


def describe_every(seconds: int) -> str:
    for unit_seconds, one, many in (
        (86400, _("every day"), _("every %d days")),
        (3600, _("every hour"), _("every %d hours")),
        (60, _("every minute"), _("every %d minutes")),
    ):
        if seconds % unit_seconds == 0:
            n = seconds // unit_seconds
            return one if n == 1 else many % n
    return _("every %d seconds") % seconds


def describe(task: PeriodicTask) -> str:
    """The schedule in words: 'at 03:00, Europe/Paris', 'every 2 hours', 'once, on …'."""
    if task.crontab_id:
        c = task.crontab
        expression = " ".join((c.minute, c.hour, c.day_of_month, c.month_of_year, c.day_of_week))
        return describe_cron(expression, str(c.timezone))
    if task.interval_id:
        return describe_every(int(Timing.of(task).every.total_seconds()))
    if task.clocked_id:
        when = timezone.localtime(task.clocked.clocked_time)
        return _("once, on %s") % when.strftime("%Y-%m-%d %H:%M %Z")
    return _("no timing set")


def create_clocked_timing(at: datetime) -> dict:
    clocked, _ = ClockedSchedule.objects.get_or_create(clocked_time=at)
    return {"clocked": clocked, "crontab": None, "interval": None, "one_off": True}
