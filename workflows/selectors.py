"""Reads about workflows shared by the pages and the API."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch
from django.utils import timezone

from .models import Workflow, WorkflowSchedule
from .schedules import describe, next_fire_after


@dataclass(frozen=True)
class ScheduleInfo:
    name: str
    text: str  # in words: "every day at 03:00, Europe/Paris"
    next_run_at: datetime | None  # None when disabled, paused or finished
    enabled: bool


def with_schedules(workflows):
    """Prefetch what ``schedules_of`` needs, in a constant number of queries."""
    rows = WorkflowSchedule.objects.select_related(
        "periodic_task__crontab", "periodic_task__interval", "periodic_task__clocked"
    ).order_by("-from_code", "pk")
    return workflows.prefetch_related(Prefetch("schedules", queryset=rows))


def schedules_of(workflow: Workflow, now: datetime | None = None) -> list[ScheduleInfo]:
    """Each schedule of a workflow in words, with its next run (use ``with_schedules``)."""
    now = now or timezone.now()
    infos = []
    for schedule in workflow.schedules.all():
        task = schedule.periodic_task
        runs = task.enabled and workflow.is_active and not workflow.is_paused
        after = max(now, task.last_run_at) if task.last_run_at else now
        infos.append(
            ScheduleInfo(
                name=task.name,
                text=describe(task),
                next_run_at=next_fire_after(task, after) if runs else None,
                enabled=task.enabled,
            )
        )
    return infos


def next_run_of(workflows: Iterable[Workflow], now: datetime | None = None) -> dict:
    """Workflow pk → its soonest next run (or None), for list pages."""
    now = now or timezone.now()
    soonest = {}
    for workflow in workflows:
        times = [s.next_run_at for s in schedules_of(workflow, now) if s.next_run_at]
        soonest[workflow.pk] = min(times) if times else None
    return soonest
