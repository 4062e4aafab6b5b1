"""The code pages: one version of a workflow (source and diff), and the load errors page.

A version's page and a run's Code tab (runs.code_views) show the same thing
through ``code_context``: the source highlighted, and what changed since the
version before it.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render

from accounts.permissions import workflow_for

from .code_display import diff_of, highlighted
from .models import WorkflowVersion
from .selectors import load_errors_for, sees_load_errors, version_before


def code_context(version: WorkflowVersion, previous: WorkflowVersion | None) -> dict:
    """What the code pages show of ``version``: its source, highlighted, and the diff."""
    diff = None
    if previous is not None and previous.source and version.source:
        diff = diff_of(
            previous.source,
            version.source,
            old_name=_diff_name(previous),
            new_name=_diff_name(version),
        )
    return {
        "version": version,
        "previous": previous,
        "code": highlighted(version.source) if version.source else "",
        "diff": diff,
    }


def _diff_name(version: WorkflowVersion) -> str:
    return f"{version.source_path or 'source'} ({version.short_revision or version.short_hash})"


def version_code(request, slug: str, version_id: int):
    """One version of a workflow: when and where it came from, its source, its diff."""
    workflow, access = workflow_for(request.user, slug)
    version = WorkflowVersion.objects.filter(pk=version_id, workflow=workflow).first()
    if version is None:
        raise Http404(f"Workflow '{workflow.slug}' has no version {version_id}.")
    context = {
        "workflow": workflow,
        "access": access,
        "is_current": version.pk == workflow.current_version_id,
        **code_context(version, version_before(version)),
    }
    return render(request, "workflows/version.html", context)


def load_errors(request):
    """The files whose workflows could not be loaded, with the workflows each one declares."""
    if not sees_load_errors(request.user):
        raise PermissionDenied("Load errors are shown to those who may change a workflow.")
    return render(request, "workflows/load_errors.html", {"rows": load_errors_for(request.user)})
