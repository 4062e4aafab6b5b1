"""A workflow's other tabs: the calendar of its runs, its tasks' durations, its current code.

Like the workflow page, each gets the workflow through ``workflow_for`` (404 for
those who may not see it).
"""

from datetime import date, timedelta

from django.shortcuts import render
from django.utils import formats, timezone

from accounts.permissions import workflow_for
from runs.insights import DURATION_RUNS, Day, runs_per_day, task_durations

from .models import WorkflowVersion
from .selectors import version_before
from .version_views import code_context

FIRST_YEAR = 2000


def _year(request) -> int:
    """``?year=`` when it is a sensible year, else this year (in the user's time zone)."""
    this_year = timezone.localdate().year
    raw = request.GET.get("year", "")
    if raw.isdigit() and FIRST_YEAR <= int(raw) <= this_year + 1:
        return int(raw)
    return this_year


def calendar_rows(year: int, days: dict[date, Day]) -> list[list[Day | None]]:
    """Seven rows (Monday first) of week columns covering ``year``; None outside it."""
    first = date(year, 1, 1)
    start = first - timedelta(days=first.weekday())
    last = date(year, 12, 31)
    rows: list[list[Day | None]] = [[] for _ in range(7)]
    day = start
    while day <= last or day.weekday() != 0:
        rows[day.weekday()].append(days.get(day, Day(day)) if day.year == year else None)
        day += timedelta(days=1)
    return rows


def calendar(request, slug: str):
    """The runs of each day of a year, coloured by how they went (Airflow's calendar view)."""
    workflow, access = workflow_for(request.user, slug)
    year = _year(request)
    days = runs_per_day(workflow=workflow, year=year)
    weekdays = [formats.date_format(date(2024, 1, 1 + n), "D") for n in range(7)]
    context = {
        "workflow": workflow,
        "access": access,
        "year": year,
        "rows": list(zip(weekdays, calendar_rows(year, days), strict=True)),
        "total": sum(day.total for day in days.values()),
        "busiest": max(days.values(), key=lambda day: day.total, default=None),
        "previous_year": year - 1 if year > FIRST_YEAR else None,
        "next_year": year + 1 if year < timezone.localdate().year else None,
        "zone": timezone.get_current_timezone_name(),
    }
    return render(request, "workflows/calendar.html", context)


def durations(request, slug: str):
    """Each task's durations over the last runs, as small bar charts."""
    workflow, access = workflow_for(request.user, slug)
    numbers, bars = task_durations(workflow=workflow)
    context = {
        "workflow": workflow,
        "access": access,
        "numbers": numbers,
        "charts": list(bars.items()),
        "limit": DURATION_RUNS,
    }
    return render(request, "workflows/durations.html", context)


def current_code(request, slug: str):
    """The Code tab: the version of the code the workflow runs now, with its diff."""
    workflow, access = workflow_for(request.user, slug)
    version = WorkflowVersion.objects.filter(pk=workflow.current_version_id).first()
    context = {"workflow": workflow, "access": access, "version": version}
    if version is not None:
        context.update(code_context(version, version_before(version)))
    return render(request, "workflows/current_code.html", context)
