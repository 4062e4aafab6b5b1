"""Reads behind a workflow's Calendar and Durations tabs: runs per day, task durations.

Each is one query, whatever the number of runs: the calendar counts runs per
day and state in the database, the durations read only the task runs of the
last runs.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import TaskRun, WorkflowRun
from .states import RunState

DURATION_RUNS = 50


@dataclass
class Day:
    day: date
    counts: dict = field(default_factory=dict)  # state -> runs

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def state(self) -> str:
        """The colour of the day: failed wins, then running or waiting, then the rest."""
        for state in (RunState.FAILED, RunState.RUNNING, RunState.QUEUED, RunState.CANCELLED):
            if self.counts.get(state):
                return state
        return RunState.SUCCESS if self.total else "none"


def runs_per_day(*, workflow, year: int) -> dict[date, Day]:
    """The runs of ``workflow`` created in ``year``, counted per day (in the current time zone)
    and state."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(date(year, 1, 1), time.min, tzinfo=zone)
    end = datetime.combine(date(year + 1, 1, 1), time.min, tzinfo=zone)
    rows = (
        WorkflowRun.objects.filter(workflow=workflow, created_at__gte=start, created_at__lt=end)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values_list("day", "state")
        .annotate(runs=Count("id"))
        .order_by()
    )
    days: dict[date, Day] = {}
    for day, state, runs in rows:
        days.setdefault(day, Day(day)).counts[state] = runs
    return days


@dataclass(frozen=True)
class Bar:
    """One task run on the durations chart."""

    run_id: int
    number: int
    state: str
    seconds: float | None  # None: not started, or still running


def task_durations(*, workflow, runs: int = DURATION_RUNS) -> tuple[list[int], dict[str, list]]:
    """The last ``runs`` runs' numbers (oldest first) and, per task, one bar per run."""
    last = list(
        WorkflowRun.objects.filter(workflow=workflow)
        .order_by("-created_at", "-pk")
        .values_list("pk", "number")[:runs]
    )
    last.reverse()
    numbers = {pk: number for pk, number in last}
    bars: dict[str, list] = defaultdict(list)
    rows = (
        TaskRun.objects.filter(run_id__in=numbers)
        .order_by("position", "run__created_at", "run_id")
        .values_list("task_name", "run_id", "state", "started_at", "finished_at")
    )
    for name, run_id, state, started, finished in rows:
        seconds = None
        if started and finished and finished >= started:
            seconds = (finished - started) / timedelta(seconds=1)
        bars[name].append(Bar(run_id, numbers[run_id], state, seconds))
    return [number for _pk, number in last], dict(bars)
