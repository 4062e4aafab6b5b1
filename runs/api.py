"""REST endpoints about runs: start one, list, get, read a task's log, cancel, retry, mark,
approve or reject an approval step.

Mounted by ``config/api.py``: ``workflow_runs`` under ``/workflows`` (starting a
run), ``router`` under ``/runs``. Every write goes through ``runs.services``.
"""

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated

from django.db.models import Q
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from ninja import Header, Path, Query, Router
from ninja.responses import Status

from accounts.idempotency import HEADER as IDEMPOTENCY_HEADER
from accounts.idempotency import start_once
from accounts.permissions import workflow_for, workflows_for
from config.schemas import InvalidRequest, described, error_responses
from workflows.api import Slug

from .access import run_for, task_run_for
from .approvals import approve_step, reject_step
from .models import WorkflowRun
from .schemas import (
    MarkIn,
    RejectIn,
    RetryOut,
    RunDetailOut,
    RunFilters,
    RunPageOut,
    TaskLogOut,
    TriggerIn,
)
from .selectors import task_log_after
from .services import (
    ActionRefused,
    cancel_run,
    mark_task,
    retry_failed_tasks,
    retry_task,
    trigger_run,
)
from .states import TaskState

workflow_runs = Router(tags=["runs"])
router = Router(tags=["runs"])

# Bounded so a huge number is a 422, not a database overflow.
RunId = Annotated[int, Path(ge=1, le=2**63 - 1)]
TaskName = Annotated[str, Path(max_length=200, pattern=r"^[^\x00]+$")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        None,
        alias=IDEMPOTENCY_HEADER,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID): retrying with the same key within 24 h "
        "returns the first request's run (200) instead of starting another.",
    ),
]


def _fresh(run: WorkflowRun) -> WorkflowRun:
    return WorkflowRun.objects.select_related("workflow", "started_by", "version").get(pk=run.pk)


# Where a new run leads: the stateful clients (and schemathesis) follow these links.
CREATED_RUN_LINKS = {
    name: {"operationId": operation, "parameters": {"run_id": "$response.body#/id"}}
    for name, operation in (
        ("GetRun", "runs_api_get_run"),
        ("CancelRun", "runs_api_cancel"),
        ("RetryRun", "runs_api_retry_failed"),
    )
}


@workflow_runs.post(
    "/{slug}/runs",
    response={200: RunDetailOut, 201: RunDetailOut, **error_responses(400, 403, 404, 409, 413)},
    summary="Start a run",
    openapi_extra=described(
        {
            201: "The run started (its URL in `Location`).",
            200: "The run an earlier request with this Idempotency-Key started.",
            409: "The workflow was removed from the code.",
            422: "Invalid values: a parameter the workflow does not have, a value that does not "
            "fit its `parameter_schema` (messages by parameter name), or a malformed or reused "
            "Idempotency-Key.",
        },
        links={201: CREATED_RUN_LINKS},
    ),
)
def start_run(
    request,
    slug: Slug,
    response: HttpResponse,
    body: TriggerIn | None = None,
    idempotency_key: IdempotencyKey = None,
):
    """Start a run with parameters, validated like the Run form (422 with messages per field).

    201 with the new run; 200 with the earlier run when the Idempotency-Key was
    seen; 409 when the workflow was removed from the code. A paused workflow
    still starts a run asked for here: pausing stops its schedule only.
    """
    workflow, _access = workflow_for(request.auth, slug, "trigger")
    parameters = body.parameters if body else {}

    def start() -> WorkflowRun:
        return trigger_run(
            workflow=workflow, parameters=parameters, started_by=request.auth, trigger="api"
        )

    run, created = start_once(
        user=request.auth,
        workflow=workflow,
        key=idempotency_key,
        parameters=parameters,
        start=start,
    )
    response["Location"] = reverse("api:get_run", args=[run.pk])
    return Status(201 if created else 200, _fresh(run))


def encode_cursor(run: WorkflowRun) -> str:
    """An opaque cursor pointing after ``run`` in newest-first order."""
    raw = json.dumps([run.created_at.isoformat(), run.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """``(created_at, id)`` of the last run of the previous page; ``InvalidRequest`` if mangled."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, pk = json.loads(raw)
        created_at = datetime.fromisoformat(created)
        if timezone.is_naive(created_at) or type(pk) is not int or not 0 < pk < 2**63:
            raise ValueError(cursor)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest(
            {"cursor": ["Invalid cursor: pass the next_cursor of the previous page unchanged."]}
        ) from None
    return created_at, pk


@router.get(
    "",
    response={200: RunPageOut, **error_responses()},
    summary="List runs",
    openapi_extra=described(
        {422: "Invalid filters, or a cursor that is not the `next_cursor` of a page."}
    ),
)
def list_runs(request, filters: Query[RunFilters]):
    """Runs of the workflows you may see, newest first, a page at a time (cursor pagination)."""
    runs = WorkflowRun.objects.filter(workflow__in=workflows_for(request.auth, "view"))
    if filters.workflow:
        runs = runs.filter(workflow__slug=filters.workflow)
    if filters.state:
        runs = runs.filter(state=filters.state)
    if filters.trigger:
        runs = runs.filter(trigger=filters.trigger)
    if filters.created_after:
        runs = runs.filter(created_at__gte=filters.created_after)
    if filters.created_before:
        runs = runs.filter(created_at__lt=filters.created_before)
    if filters.cursor:
        created_at, pk = decode_cursor(filters.cursor)
        # Keyset: strictly after the previous page's last run in (created_at, id) order.
        runs = runs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk))
    page = list(
        runs.select_related("workflow", "started_by", "version").order_by("-created_at", "-pk")[
            : filters.page_size + 1
        ]
    )
    more = len(page) > filters.page_size
    items = page[: filters.page_size]
    return {"items": items, "next_cursor": encode_cursor(items[-1]) if more else None}


@router.get("/{run_id}", response={200: RunDetailOut, **error_responses(404)}, summary="Get a run")
def get_run(request, run_id: RunId):
    """A run with its task runs (in graph order) and their attempts."""
    run, _access = run_for(request.auth, run_id)
    return run


@router.get(
    "/{run_id}/tasks/{task}/log",
    response={200: TaskLogOut, **error_responses(404)},
    summary="Read a task's log",
    openapi_extra=described(
        {422: "Invalid values, or an `attempt` the task has not started (yet)."}
    ),
)
def read_task_log(
    request,
    run_id: RunId,
    task: TaskName,
    attempt: Annotated[
        int | None, Query(None, ge=1, le=100_000, description="Default: the latest attempt.")
    ] = None,
    offset: Annotated[
        int,
        Query(
            0,
            ge=0,
            le=2**31 - 1,
            description="0, or the next_offset of the previous answer (an opaque position: "
            "it counts the pieces of log stored so far, not characters).",
        ),
    ] = 0,
):
    """The log of one attempt (default: the latest) from ``offset`` on.

    To follow a running task, call again with ``offset=next_offset`` (and the
    returned ``attempt``) until ``complete`` is true.
    """
    run, _access = run_for(request.auth, run_id)
    task_run = task_run_for(run, task)
    # The state is read before the log, so "complete" never hides a last piece.
    number = attempt or max(task_run.attempt, 1)
    if number > max(task_run.attempt, 1):
        raise InvalidRequest(
            {"attempt": [f"Task '{task}' has started {task_run.attempt} attempt(s) so far."]}
        )
    text, last_seq = task_log_after(task_run=task_run, attempt=number, after_seq=offset - 1)
    ended = task_run.attempt >= 1 and task_run.state != TaskState.RUNNING
    return {
        "task": task,
        "attempt": number,
        "offset": offset,
        "next_offset": last_seq + 1,
        "text": text,
        "complete": number < task_run.attempt or ended,
    }


@router.post(
    "/{run_id}/cancel",
    response={200: RunDetailOut, **error_responses(403, 404, 409, 413)},
    summary="Cancel a run",
)
def cancel(request, run_id: RunId):
    """Cancel a queued or running run (409 when it has already ended). Needs the change right."""
    run, _access = run_for(request.auth, run_id, "change")
    if not cancel_run(run=run, user=request.auth):
        raise ActionRefused(
            f"Run #{run.number} has already ended ({run.state}): there is nothing to cancel."
        )
    return _fresh(run)


@router.post(
    "/{run_id}/retry",
    response={200: RetryOut, **error_responses(403, 404, 409, 413)},
    summary="Retry a run's failed tasks",
)
def retry_failed(request, run_id: RunId):
    """Run the failed, cancelled and not-run tasks of a failed or cancelled run again."""
    run, _access = run_for(request.auth, run_id, "change")
    retried = retry_failed_tasks(run=run, user=request.auth)
    fresh = _fresh(run)
    fresh.retried = retried
    return fresh


@router.post(
    "/{run_id}/tasks/{task}/retry",
    response={200: RetryOut, **error_responses(403, 404, 409, 413)},
    summary="Retry one task",
)
def retry_one_task(request, run_id: RunId, task: TaskName):
    """Run a finished task again, with the finished tasks downstream of it."""
    run, _access = run_for(request.auth, run_id, "change")
    retried = retry_task(task_run=task_run_for(run, task), user=request.auth)
    fresh = _fresh(run)
    fresh.retried = retried
    return fresh


@router.post(
    "/{run_id}/tasks/{task}/mark",
    response={200: RunDetailOut, **error_responses(400, 403, 404, 409, 413)},
    summary="Mark a task success or failed",
)
def mark(request, run_id: RunId, task: TaskName, body: MarkIn):
    """Set a task's state by hand, with the reason (kept with the task); downstream follows."""
    run, _access = run_for(request.auth, run_id, "change")
    mark_task(
        task_run=task_run_for(run, task), state=body.state, reason=body.reason, user=request.auth
    )
    return _fresh(run)


@router.post(
    "/{run_id}/tasks/{task}/approve",
    response={200: RunDetailOut, **error_responses(403, 404, 409, 413)},
    summary="Approve an approval step",
)
def approve(request, run_id: RunId, task: TaskName):
    """Approve a waiting approval step: for members of its approvers group, except the run's
    starter (four eyes, 409). The run goes on."""
    run, _access = run_for(request.auth, run_id)
    approve_step(task_run=task_run_for(run, task), user=request.auth)
    return _fresh(run)


@router.post(
    "/{run_id}/tasks/{task}/reject",
    response={200: RunDetailOut, **error_responses(400, 403, 404, 409, 413)},
    summary="Reject an approval step",
)
def reject(request, run_id: RunId, task: TaskName, body: RejectIn):
    """Reject a waiting approval step with the reason (members of its approvers group): it
    fails, and the tasks after it do not run."""
    run, _access = run_for(request.auth, run_id)
    reject_step(task_run=task_run_for(run, task), user=request.auth, reason=body.reason)
    return _fresh(run)


__all__ = ["decode_cursor", "encode_cursor", "router", "workflow_runs"]
