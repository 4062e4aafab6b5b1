"""Getting a run or a task run for a user: the one way the run pages and actions load them.

A run is visible when its workflow is: a run of a workflow the user may not see
answers 404 (like the workflow itself), one they may see but not act on, 403.
"""

from django.http import Http404
from django.utils.translation import gettext as _

from accounts.permissions import get_workflow_for

from .models import TaskRun, WorkflowRun


def run_for(user, run_id: int, need: str = "view") -> WorkflowRun:
    """The run ``run_id`` if ``user`` may do ``need`` on its workflow; else 404 or 403."""
    run = (
        WorkflowRun.objects.select_related("workflow", "started_by", "schedule__periodic_task")
        .filter(pk=run_id)
        .first()
    )
    if run is None:
        raise Http404(_("There is no run number %(id)s.") % {"id": run_id})
    run.workflow = get_workflow_for(user, run.workflow.slug, need)
    return run


def task_run_for(run: WorkflowRun, task_name: str) -> TaskRun:
    """The task ``task_name`` of ``run``, or 404."""
    task_run = TaskRun.objects.filter(run=run, task_name=task_name).first()
    if task_run is None:
        raise Http404(_("This run has no task “%(task)s”.") % {"task": task_name})
    task_run.run = run
    return task_run
