"""The audit page, its CSV export, and each workflow's History page."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.permissions import workflow_for
from audit.models import AuditEvent
from workflows.models import Workflow

from .export import csv_response
from .forms import AuditFilterForm, WorkflowHistoryFilterForm
from .selectors import filtered_events, page_of_events

VIEW_PERMISSION = "audit.view_auditevent"


def is_audit_viewer(user) -> bool:
    """Whether ``user`` may read the whole trail (superusers always may)."""
    return user.has_perm(VIEW_PERMISSION)


def _require_audit_viewer(user) -> None:
    if not is_audit_viewer(user):
        raise PermissionDenied(_("Reading the audit trail needs the “view audit event” right."))


def _workflow_for_history(user, slug: str) -> Workflow:
    """Audit viewers see any workflow's history; others must be its Owners (need "manage").

    As everywhere, a workflow the user may not see is a 404, one they see but
    do not own a 403.
    """
    if is_audit_viewer(user):
        return get_object_or_404(Workflow, slug=slug)
    workflow, _access = workflow_for(user, slug, need="manage")
    return workflow


def _render_events(request, template: str, form, events, context=None):
    """The filters and one page of events; bad filters are shown, never a traceback."""
    if not form.is_valid():
        context = {**(context or {}), "form": form, "page": None}
        return render(request, template, context, status=400)
    data = form.cleaned_data
    page = page_of_events(
        filtered_events(data, events), before=data.get("before"), after=data.get("after")
    )
    return render(request, template, {**(context or {}), "form": form, "page": page})


def audit_page(request):
    """Every event, newest first, filtered by who, action, workflow, dates and text."""
    _require_audit_viewer(request.user)
    form = AuditFilterForm(request.GET)
    return _render_events(request, "audit/list.html", form, AuditEvent.objects.all())


def audit_export(request):
    """The events the audit page's filters select, as a streamed CSV file."""
    _require_audit_viewer(request.user)
    form = AuditFilterForm(request.GET)
    if not form.is_valid():  # the page says what is wrong with the filters
        return redirect(f"{reverse('audit:audit')}?{request.GET.urlencode()}")
    return csv_response(filtered_events(form.cleaned_data))


def workflow_history(request, slug):
    """The History tab of a workflow: its events, for its Owners and audit viewers."""
    workflow = _workflow_for_history(request.user, slug)
    form = WorkflowHistoryFilterForm(request.GET)
    events = AuditEvent.objects.filter(workflow_slug=workflow.slug)
    context = {"workflow": workflow}
    return _render_events(request, "audit/workflow_history.html", form, events, context)


def workflow_history_export(request, slug):
    """The History page's events as a streamed CSV file."""
    workflow = _workflow_for_history(request.user, slug)
    form = WorkflowHistoryFilterForm(request.GET)
    if not form.is_valid():
        url = reverse("audit:workflow_history", args=[workflow.slug])
        return redirect(f"{url}?{request.GET.urlencode()}")
    events = filtered_events(
        form.cleaned_data, AuditEvent.objects.filter(workflow_slug=workflow.slug)
    )
    return csv_response(events, name=f"{workflow.slug}-history")
