"""Getting a run or a task run for a user: the one way run pages, actions and the API load them.

A run is visible when its workflow is: a run of a workflow the user may not see
answers 404 (like the workflow itself), one they may see but not act on, 403.
"""

from django.http import Http404

from accounts.permissions import Access, access_of, check, permission_for

from .models import TaskRun, WorkflowRun


def run_for(user, run_id: int, need: str = "view") -> tuple[WorkflowRun, Access]:
    """The run ``run_id`` and what ``user`` may do on its workflow; else 404 or 403.

    One query for the run with its workflow, plus the permission ones.
    """
    permission_for(need)
    run = (
        WorkflowRun.objects.select_related(
            "workflow", "started_by", "schedule__periodic_task", "note_by", "cancelled_by"
        )
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        raise Http404("No such run.")
    access = access_of(user, run.workflow)
    if not access.may_view:
        raise Http404("No such run.")
    check(access, need, run.workflow)
    return run, access


def task_run_for(run: WorkflowRun, task_name: str) -> TaskRun:
    """The task ``task_name`` of ``run``, or 404."""
    task_run = TaskRun.objects.filter(run=run, task_name=task_name).first()
    if task_run is None:
        raise Http404(f"Run #{run.number} of {run.workflow.slug} has no task '{task_name}'.")
    task_run.run = run
    return task_run
