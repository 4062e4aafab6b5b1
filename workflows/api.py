"""REST endpoints about workflows: list, get one, pause and unpause (mounted by ``config/api.py``).

Starting a run (``POST /workflows/{slug}/runs``) lives with the runs, in ``runs/api.py``.
"""

from collections.abc import Iterable
from typing import Annotated

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from ninja import Path, Query, Router, Schema
from pydantic import Field

from accounts.permissions import workflow_for, workflows_for
from config.schemas import error_responses
from runs.models import WorkflowRun

from .models import Workflow
from .schemas import WorkflowDetailOut, WorkflowOut
from .selectors import schedules_of, with_schedules
from .services import pause_workflow

router = Router(tags=["workflows"])

# What a workflow slug may be (Django's slug): anything else is a 422, never a database error.
SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"
Slug = Annotated[str, Path(pattern=SLUG_PATTERN, max_length=200)]


class WorkflowFilters(Schema):
    tag: str | None = Field(None, description="Only workflows with this tag.", max_length=200)
    paused: bool | None = Field(None, description="Only paused (true) or unpaused (false) ones.")
    search: str | None = Field(
        None,
        description="Words in the name, title or description.",
        max_length=200,
        pattern=r"^[^\x00]*$",
    )


def _with_last_run(workflows: QuerySet[Workflow]) -> QuerySet[Workflow]:
    newest = WorkflowRun.objects.filter(workflow=OuterRef("pk")).order_by("-created_at", "-pk")
    return with_schedules(workflows).annotate(last_run_id=Subquery(newest.values("pk")[:1]))


def describe_workflows(workflows: Iterable[Workflow], *, tasks: bool = False) -> list[dict]:
    """The API's view of workflows (from ``_with_last_run``), in a constant number of queries."""
    workflows = list(workflows)
    run_ids = [w.last_run_id for w in workflows if w.last_run_id]
    last_runs = WorkflowRun.objects.only("pk", "number", "state", "created_at").in_bulk(run_ids)
    now = timezone.now()
    described = []
    for workflow in workflows:
        schedules = schedules_of(workflow, now)
        next_times = [s.next_run_at for s in schedules if s.next_run_at]
        last_run = last_runs.get(workflow.last_run_id)
        item = {
            "slug": workflow.slug,
            "title": workflow.title,
            "description": workflow.description,
            "tags": workflow.tags or [],
            "is_active": workflow.is_active,
            "is_paused": workflow.is_paused,
            "parameter_schema": workflow.parameter_schema or {},
            "schedules": [vars(s) for s in schedules],
            "next_run_at": min(next_times) if next_times else None,
            "last_run": last_run,
            "last_run_state": last_run.state if last_run else None,
        }
        if tasks:
            item["tasks"] = list(workflow.tasks.order_by("position"))
        described.append(item)
    return described


def describe_workflow(workflow: Workflow) -> dict:
    """One workflow as ``GET /workflows/{slug}`` shows it, with its tasks."""
    fresh = _with_last_run(Workflow.objects.filter(pk=workflow.pk))
    return describe_workflows(fresh, tasks=True)[0]


def _matches_tag(workflow: Workflow, tag: str | None) -> bool:
    # Filtered here rather than in SQL: JSON "contains" is not available on SQLite.
    return tag is None or tag in (workflow.tags or [])


@router.get("", response={200: list[WorkflowOut], **error_responses()}, summary="List workflows")
def list_workflows(request, filters: Query[WorkflowFilters]):
    """The workflows you may see, by slug, with parameters, schedules, next and last run."""
    workflows = workflows_for(request.auth, "view")
    if filters.paused is not None:
        workflows = workflows.filter(is_paused=filters.paused)
    if filters.search:
        words = filters.search.strip()
        workflows = workflows.filter(
            Q(slug__icontains=words) | Q(title__icontains=words) | Q(description__icontains=words)
        )
    chosen = [w for w in _with_last_run(workflows.order_by("slug")) if _matches_tag(w, filters.tag)]
    return describe_workflows(chosen)


@router.get(
    "/{slug}", response={200: WorkflowDetailOut, **error_responses(404)}, summary="Get a workflow"
)
def get_workflow(request, slug: Slug):
    """One workflow, with its tasks."""
    workflow, _access = workflow_for(request.auth, slug, queryset=_with_last_run(Workflow.objects))
    return describe_workflows([workflow], tasks=True)[0]


def _set_paused(request, slug: str, paused: bool) -> dict:
    workflow, _access = workflow_for(request.auth, slug, "change")
    pause_workflow(workflow=workflow, paused=paused, user=request.auth)
    return describe_workflow(workflow)


@router.post(
    "/{slug}/pause",
    response={200: WorkflowDetailOut, **error_responses(403, 404, 413)},
    summary="Pause a workflow",
)
def pause(request, slug: Slug):
    """Stop the workflow's schedules from starting runs (idempotent). Needs the change right."""
    return _set_paused(request, slug, True)


@router.post(
    "/{slug}/unpause",
    response={200: WorkflowDetailOut, **error_responses(403, 404, 413)},
    summary="Unpause a workflow",
)
def unpause(request, slug: Slug):
    """Let the workflow's schedules start runs again (idempotent). Needs the change right."""
    return _set_paused(request, slug, False)


__all__ = ["SLUG_PATTERN", "Slug", "describe_workflow", "router"]
