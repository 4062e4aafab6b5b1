"""Reads behind the staff pages: run lists, the last runs of many workflows, the run grid.

Each function runs a constant number of queries whatever the number of rows,
so list pages stay flat as history grows (tests/test_pages_queries.py pins it).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from accounts.permissions import workflows_for
from workflows.models import TaskSpec, Workflow

from .map_selectors import counts_words, instance_counts
from .models import TaskRun, WorkflowRun
from .states import ACTIVE_TASK_STATES, RunState, TaskState

# What a run needs to be listed (its parameters and note stay out).
RUN_LIST_FIELDS = (
    *("id", "workflow_id", "number", "state", "trigger", "started_by_id", "logical_date"),
    *("created_at", "started_at", "finished_at"),
)


def runs_for_user(*, user, filters: dict | None = None) -> QuerySet[WorkflowRun]:
    """The runs of the workflows ``user`` may see, newest first, narrowed by ``filters``.

    ``filters`` holds cleaned values of ``runs.forms.RunFilterForm``: workflow
    (a slug), state, trigger, started_by (a username), since / before (aware datetimes).
    """
    filters = filters or {}
    runs = WorkflowRun.objects.filter(workflow__in=workflows_for(user, "view"))
    if filters.get("workflow"):
        runs = runs.filter(workflow__slug=filters["workflow"])
    if filters.get("state"):
        runs = runs.filter(state=filters["state"])
    if filters.get("trigger"):
        runs = runs.filter(trigger=filters["trigger"])
    if filters.get("started_by"):
        runs = runs.filter(started_by__username__iexact=filters["started_by"])
    if filters.get("since"):
        runs = runs.filter(created_at__gte=filters["since"])
    if filters.get("before"):
        runs = runs.filter(created_at__lt=filters["before"])
    return (
        runs.select_related("workflow", "started_by")
        .only(
            *RUN_LIST_FIELDS,
            *("workflow__slug", "workflow__title"),
            *("started_by__username", "started_by__first_name", "started_by__last_name"),
        )
        .order_by("-created_at", "-pk")
    )


def last_runs_by_workflow(workflow_ids: list[int], count: int = 10) -> dict[int, list]:
    """Workflow pk → its last ``count`` runs, oldest first (the squares of the home page).

    One query: runs ranked per workflow by a window function.
    """
    if not workflow_ids:
        return {}
    newest_first = [F("created_at").desc(), F("pk").desc()]
    ranked = (
        WorkflowRun.objects.filter(workflow_id__in=workflow_ids)
        .annotate(rank=Window(RowNumber(), partition_by=[F("workflow_id")], order_by=newest_first))
        .filter(rank__lte=count)
        .only("id", "workflow_id", "number", "state", "created_at")
        .order_by("workflow_id", "created_at", "pk")
    )
    runs = defaultdict(list)
    for run in ranked:
        runs[run.workflow_id].append(run)
    return runs


@dataclass
class GridRow:
    task_name: str
    cells: list  # one per run: GridCell, or None when the run had no such task


@dataclass
class GridCell:
    run: WorkflowRun
    state: str
    next_attempt_at: datetime | None = None
    counts: str = ""  # a mapped step's instances: "1,998 succeeded, 2 failed"


@dataclass
class RunGrid:
    """Airflow's grid: the last runs as columns (oldest left), the tasks as rows."""

    runs: list = field(default_factory=list)
    rows: list = field(default_factory=list)


def run_grid(*, workflow: Workflow, tasks: list[TaskSpec], count: int = 25) -> RunGrid:
    """The last ``count`` runs of ``workflow`` × its tasks, each cell the task's state.

    Tasks no longer in the code, but present in the runs shown, come last.
    """
    runs = list(
        WorkflowRun.objects.filter(workflow=workflow)
        .only("id", "workflow_id", "number", "state", "created_at", "started_at", "finished_at")
        .order_by("-created_at", "-pk")[:count]
    )[::-1]
    by_run = defaultdict(dict)
    extra = {}
    names = [task.name for task in tasks]
    # A mapped step's instances are counted into its cell, not given rows of their own.
    rows = list(
        TaskRun.objects.filter(
            run__in=[run.pk for run in runs], map_index__isnull=True
        ).values_list("run_id", "task_name", "state", "next_attempt_at", "position", "map_count")
    )
    mapped = any(row[-1] for row in rows)  # no query more for a workflow that maps nothing
    counts = instance_counts([run.pk for run in runs]) if mapped else {}
    for run_id, name, state, next_attempt_at, position, _made in rows:
        by_run[run_id][name] = (state, next_attempt_at)
        if name not in names:
            extra.setdefault(name, position)
    names += sorted(extra, key=extra.get)
    grid = RunGrid(runs=runs)
    for name in names:
        cells = []
        for run in runs:
            found = by_run[run.pk].get(name)
            told = counts_words(counts[run.pk, name]) if (run.pk, name) in counts else ""
            cells.append(GridCell(run, *found, counts=told) if found else None)
        grid.rows.append(GridRow(name, cells))
    return grid


def run_headline_state(run: WorkflowRun, task_runs: list[TaskRun]) -> tuple[str, datetime | None]:
    """What the run is doing, as (state, when its next retry is due).

    A running run whose only unfinished tasks wait for a retry is "retrying"
    (its tasks are doing nothing until then); one whose busiest tasks are on hold
    (``waiting``) is "waiting".
    """
    if run.state != RunState.RUNNING:
        return run.state, None
    busy = {TaskState.QUEUED, TaskState.RUNNING}
    active = [task for task in task_runs if task.state in ACTIVE_TASK_STATES]
    retrying = [task for task in active if task.state == TaskState.UP_FOR_RETRY]
    if retrying and not any(task.state in busy for task in active):
        due = [task.next_attempt_at for task in retrying if task.next_attempt_at]
        return TaskState.UP_FOR_RETRY, min(due) if due else None
    # Every unfinished task on hold (a pool slot, a check, a decision): the run waits.
    on_hold = [task for task in active if task.state == TaskState.WAITING]
    if on_hold and not any(task.state in busy for task in active):
        return TaskState.WAITING, None
    return run.state, None
