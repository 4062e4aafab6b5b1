"""The run's timeline (a Gantt chart): one row per task, one bar per attempt, in % of the run."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from .states import TaskState


@dataclass(frozen=True)
class Bar:
    attempt: int
    state: str
    started_at: datetime
    finished_at: datetime | None
    left: float  # % of the run's span from its start
    width: float  # % of the run's span

    @property
    def duration(self) -> timedelta:
        return (self.finished_at or timezone.now()) - self.started_at


@dataclass
class TimelineRow:
    task_run: object
    bars: list = field(default_factory=list)


@dataclass
class Timeline:
    start: datetime
    end: datetime
    rows: list

    @property
    def span(self) -> timedelta:
        return self.end - self.start


def _attempt_spans(task_run) -> list[tuple]:
    """(attempt, state, start, end) of each attempt with a start time, oldest first.

    Attempts that did not succeed are kept as TaskAttempt rows; the latest one is
    described by the task run itself (unless it waits for a new attempt).
    """
    spans = [
        (a.number, a.state, a.started_at, a.finished_at)
        for a in task_run.attempts.all()
        if a.started_at is not None
    ]
    recorded = {number for number, *_rest in spans}
    waiting = task_run.state in (TaskState.PENDING, TaskState.QUEUED)
    if (
        task_run.attempt
        and task_run.attempt not in recorded
        and task_run.started_at
        and not waiting
    ):
        end = None if task_run.state == TaskState.RUNNING else task_run.finished_at
        spans.append((task_run.attempt, task_run.state, task_run.started_at, end))
    return sorted(spans)


def timeline_of(run, task_runs: list, now: datetime | None = None) -> Timeline | None:
    """The bars of every attempt, placed on the run's span; None before anything started."""
    now = now or timezone.now()
    spans = {task.pk: _attempt_spans(task) for task in task_runs}
    starts = [start for rows in spans.values() for _n, _s, start, _e in rows]
    if not starts:
        return None
    start = min([run.started_at or min(starts), *starts])
    ends = [end or now for rows in spans.values() for *_rest, end in rows]
    end = max([run.finished_at or now, *ends])
    total = max((end - start).total_seconds(), 0.001)
    rows = []
    for task in task_runs:
        row = TimelineRow(task_run=task)
        for number, state, began, ended in spans[task.pk]:
            left = (began - start).total_seconds() / total * 100
            width = max(((ended or now) - began).total_seconds() / total * 100, 0.5)
            left = min(left, 100 - width)
            row.bars.append(Bar(number, state, began, ended, round(left, 2), round(width, 2)))
        rows.append(row)
    return Timeline(start=start, end=end, rows=rows)
