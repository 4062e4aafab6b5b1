"""Reads about workflows shared by the pages and the API."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.utils import timezone

from accounts.permissions import workflows_for

from .models import Workflow, WorkflowLoadError, WorkflowSchedule, WorkflowVersion
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


# What lists of versions show; the source, graph and schema stay in the database.
VERSION_LIST_FIELDS = (
    "id",
    "workflow_id",
    "code_hash",
    "source_path",
    "origin",
    "revision",
    "commit_author",
    "commit_message",
    "committed_at",
    "first_seen_at",
)
VERSIONS_SHOWN = 20


def versions_of(workflow: Workflow, limit: int = VERSIONS_SHOWN) -> list[WorkflowVersion]:
    """The ``limit`` + 1 newest versions of a workflow (one more tells "older ones exist").

    Each carries ``run_count``, the runs pinned to it. One query.
    """
    rows = (
        WorkflowVersion.objects.filter(workflow=workflow)
        .only(*VERSION_LIST_FIELDS)
        .annotate(run_count=Count("runs"))
        .order_by("-first_seen_at", "-pk")
    )
    return list(rows[: limit + 1])


def version_before(version: WorkflowVersion) -> WorkflowVersion | None:
    """The version of the same workflow first seen just before ``version`` (with its source)."""
    earlier = Q(first_seen_at__lt=version.first_seen_at) | Q(
        first_seen_at=version.first_seen_at, pk__lt=version.pk
    )
    return (
        WorkflowVersion.objects.filter(earlier, workflow_id=version.workflow_id)
        .order_by("-first_seen_at", "-pk")
        .first()
    )


def pinned_version_of(run) -> WorkflowVersion | None:
    """The version ``run`` is pinned to, without its source, in one query.

    ``code_changed_since_start`` is True when another version of the workflow appeared
    after the run started and before it ended (or while it is still going): the run
    carried on with the code it started with, and its page says so.
    """
    if run.version_id is None:
        return None
    newer = WorkflowVersion.objects.filter(
        workflow_id=OuterRef("workflow_id"), first_seen_at__gt=run.created_at
    ).exclude(pk=OuterRef("pk"))
    if run.finished_at is not None:
        newer = newer.filter(first_seen_at__lt=run.finished_at)
    return (
        WorkflowVersion.objects.filter(pk=run.version_id)
        .only(*VERSION_LIST_FIELDS)
        .annotate(code_changed_since_start=Exists(newer))
        .first()
    )


def sees_load_errors(user) -> bool:
    """Whether ``user`` is shown load errors: superusers and whoever may change a workflow.

    Those are the people who write or own workflows; the file names and tracebacks
    of broken code are theirs to read, not every viewer's.
    """
    if not (user and user.is_authenticated and user.is_active):
        return False
    return user.is_superuser or workflows_for(user, "change").exists()


def load_errors_of(workflow: Workflow, source_path: str = "") -> list[WorkflowLoadError]:
    """The load errors of the file that declares ``workflow``.

    A git checkout or a folder may sit at a new path after each change, so an error
    matches by the workflow's file or by the file's path inside its source.
    """
    match = Q(pk__in=[])
    if workflow.source_file:
        match |= Q(file=workflow.source_file)
    if source_path:
        match |= Q(file=source_path) | Q(file__endswith=f"/{source_path.lstrip('/')}")
    return list(WorkflowLoadError.objects.filter(match).order_by("file", "pk"))


@dataclass
class LoadErrorRow:
    error: WorkflowLoadError
    workflows: list[tuple[str, str]] = field(default_factory=list)  # (slug, title) it declares


def load_errors_for(user) -> list[LoadErrorRow]:
    """The load errors ``user`` is shown, each with the workflows its file declares.

    A file whose known workflows are all hidden from the user is left out, as a
    workflow they may not see is (its name would be in the message); a new file,
    with no workflow yet, is shown to every developer. One query when there is none.
    """
    errors = list(WorkflowLoadError.objects.order_by("file", "pk"))
    if not errors or not sees_load_errors(user):
        return []
    known = list(
        Workflow.objects.values_list(
            "pk", "slug", "title", "source_file", "current_version__source_path"
        )
    )
    visible = None if user.is_superuser else set(workflows_for(user).values_list("pk", flat=True))
    rows = []
    for error in errors:
        declared = [row for row in known if _declares(error.file, row[3], row[4])]
        shown = [row for row in declared if visible is None or row[0] in visible]
        if declared and not shown:
            continue
        rows.append(LoadErrorRow(error, [(slug, title) for _pk, slug, title, *_ in shown]))
    return rows


def _declares(error_file: str, source_file: str, source_path: str | None) -> bool:
    """Whether an error's file is the one a workflow came from (see ``load_errors_of``)."""
    if source_file and error_file == source_file:
        return True
    path = (source_path or "").lstrip("/")
    return bool(path) and (error_file == path or error_file.endswith(f"/{path}"))
