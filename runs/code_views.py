"""The run page's Code tab: the source of the version the run is pinned to, and its diff."""

from django.shortcuts import render

from workflows.models import WorkflowVersion
from workflows.selectors import version_before
from workflows.version_views import code_context

from .access import run_for


def run_code(request, run_id: int):
    """The code this run ran (or runs): its version's source, highlighted, and the diff."""
    run, access = run_for(request.user, run_id, "view")
    version = WorkflowVersion.objects.filter(pk=run.version_id).first() if run.version_id else None
    context = {"run": run, "workflow": run.workflow, "access": access}
    if version is not None:
        context.update(code_context(version, version_before(version)))
    return render(request, "runs/code.html", context)
