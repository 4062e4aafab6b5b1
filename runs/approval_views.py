"""Approve and Reject on the run page (POSTs with Django's CSRF check).

Anyone who may see the run may press them; ``runs.approvals`` decides whether
they are an approver (and, for Approve, not the run's starter) and says why not.
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .access import run_for, task_run_for
from .approvals import approve_step, reject_step
from .services import ActionRefused


@require_POST
def approve(request, run_id: int, task: str):
    run, _access = run_for(request.user, run_id)
    task_run = task_run_for(run, task)
    try:
        approve_step(task_run=task_run, user=request.user)
    except ActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Approved: the run goes on."))
    return redirect(run.get_absolute_url())


@require_POST
def reject(request, run_id: int, task: str):
    run, _access = run_for(request.user, run_id)
    task_run = task_run_for(run, task)
    try:
        reject_step(task_run=task_run, user=request.user, reason=request.POST.get("reason", ""))
    except ActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Rejected: the step failed, with your reason."))
    return redirect(run.get_absolute_url())
