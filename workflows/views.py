"""The workflow pages: the list (home), one workflow, its run form, pause/unpause.

Every view gets its workflow through ``accounts.permissions`` (404 when the
user may not see it, 403 when they may see it but not do this).
"""

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import startable_among, workflow_for, workflows_for
from runs.models import WorkflowRun
from runs.notifications.recipients import NOTIFY_ME, remember_language
from runs.page_selectors import last_runs_by_workflow, run_grid
from runs.pagination import page_of
from runs.services import WorkflowNotRunnable, runnable_definition, trigger_run

from . import preset_views
from .errors import ParameterErrors
from .forms import Prefill, WorkflowSearchForm, prefill_from_preset, prefill_from_run
from .models import Workflow, WorkflowLoadError
from .presenters import graph_of, parameter_rows
from .presets import PresetCheck, checked_presets, presets_of
from .registry import get_registry
from .selectors import (
    VERSIONS_SHOWN,
    load_errors_for,
    load_errors_of,
    next_run_of,
    schedules_of,
    versions_of,
    with_schedules,
)
from .services import pause_workflow

WORKFLOWS_PER_PAGE = 50
LIST_FIELDS = ("id", "slug", "title", "description", "tags", "is_active", "is_paused")


def workflow_list(request):
    """Home: the workflows this user may see, searchable, with their last runs and schedule."""
    visible = workflows_for(request.user, "view")
    tags_by_pk = dict(visible.values_list("pk", "tags"))
    form = WorkflowSearchForm(
        request.GET, tags=sorted({tag for tags in tags_by_pk.values() for tag in tags or []})
    )
    query, tag = form.cleaned("q"), form.cleaned("tag")
    # The permission subqueries ran once, above; the list narrows down that set of ids.
    workflows = Workflow.objects.filter(pk__in=list(tags_by_pk)).only(*LIST_FIELDS)
    workflows = workflows.order_by("-is_active", "title", "slug")
    if query:
        workflows = workflows.filter(
            Q(title__icontains=query) | Q(slug__icontains=query) | Q(description__icontains=query)
        )
    if tag:
        workflows = workflows.filter(pk__in=[pk for pk, tags in tags_by_pk.items() if tag in tags])
    page = page_of(request, with_schedules(workflows), per_page=WORKFLOWS_PER_PAGE)
    ids = [workflow.pk for workflow in page]
    runs = last_runs_by_workflow(ids)
    may_trigger = startable_among(request.user, ids)
    next_runs = next_run_of(page)
    rows = [
        {
            "workflow": workflow,
            "schedules": schedules_of(workflow),
            "next_run": next_runs[workflow.pk],
            "runs": runs.get(workflow.pk, []),
            "may_trigger": workflow.pk in may_trigger and workflow.is_active,
        }
        for workflow in page
    ]
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "searching": bool(query or tag),
        "visible_count": len(tags_by_pk),
        "any_workflow": bool(tags_by_pk) or Workflow.objects.exists(),
        "load_error_count": _load_error_count(request.user),
    }
    return render(request, "workflows/list.html", context)


def _load_error_count(user) -> int:
    """How many files this user is shown as failed to load (0 for those not shown any)."""
    if not WorkflowLoadError.objects.exists():  # the usual case: one query
        return 0
    return len(load_errors_for(user))


def workflow_detail(request, slug):
    """One workflow: what it does, its parameters, schedule, graph, and the grid of its runs."""
    workflow, access = workflow_for(request.user, slug, queryset=with_schedules(Workflow.objects))
    tasks = list(workflow.tasks.order_by("position"))
    grid = run_grid(workflow=workflow, tasks=tasks)
    versions = versions_of(workflow)
    context = {
        "workflow": workflow,
        "schedules": schedules_of(workflow),
        "parameters": parameter_rows(workflow),
        "tasks": tasks,
        "graph": graph_of(tasks),
        "isolated_tasks": [task for task in tasks if task.requirements or task.python],
        "grid": grid,
        "access": access,
        "run_count": WorkflowRun.objects.filter(workflow=workflow).count() if grid.runs else 0,
        "versions": versions[:VERSIONS_SHOWN],
        "older_versions": len(versions) > VERSIONS_SHOWN,
        # Those who may change the workflow are the ones who can fix its file.
        "load_errors": _load_errors(workflow, versions) if access.may_change else [],
        "presets": _checked_presets(workflow),
    }
    return render(request, "workflows/detail.html", context)


def _checked_presets(workflow) -> list:
    definition = get_registry().get(workflow.slug)
    if definition is None:
        return [PresetCheck(preset, []) for preset in presets_of(workflow)]
    return checked_presets(workflow, definition.parameters)


def _load_errors(workflow, versions) -> list:
    current = next((v for v in versions if v.pk == workflow.current_version_id), None)
    return load_errors_of(workflow, current.source_path if current else "")


def workflow_run(request, slug):
    """The run form: parameters from the workflow's signature; a valid submit starts a run.

    Someone who may start runs from presets only gets the presets to choose from instead.
    """
    workflow, access = workflow_for(request.user, slug, "trigger_presets")
    try:
        definition = runnable_definition(workflow)
    except WorkflowNotRunnable as exc:
        context = {"workflow": workflow, "reason": str(exc)}
        return render(request, "workflows/not_runnable.html", context, status=409)
    if not access.may_trigger:
        return preset_views.presets_only_form(request, workflow, definition)
    schema = definition.parameters
    prefill, from_run, preset = Prefill(form=schema.form_class()()), None, None
    if request.method == "POST":
        prefill.form = schema.form_class()(request.POST)
        if preset_views.SAVE_BUTTON in request.POST and access.may_manage:
            saved = preset_views.save_from_form(request, workflow, schema, prefill.form)
            if saved is not None:
                return saved
        elif prefill.form.is_valid():
            run = _start(request, workflow, prefill.form)
            if run is not None:
                messages.success(request, _("Run #%(number)s started.") % {"number": run.number})
                return redirect(run.get_absolute_url())
    elif "from_run" in request.GET:
        from_run = _past_run(request, workflow)
        if from_run is not None:
            prefill = prefill_from_run(schema, from_run)
    elif "preset" in request.GET:
        preset = preset_views.preset_named(request, workflow)
        if preset is not None:
            prefill = prefill_from_preset(schema, preset)
    context = {
        "workflow": workflow,
        "prefill": prefill,
        "form": prefill.form,
        "from_run": from_run,
        "preset": preset,
        "presets": presets_of(workflow),
        "access": access,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "workflows/run_form.html", context, status=status)


def _start(request, workflow, form) -> WorkflowRun | None:
    """Start the run; on refusal, put the reasons on the form and return None."""
    notify_me = request.POST.get(NOTIFY_ME) == "on"
    if notify_me:
        remember_language(request.user, request.LANGUAGE_CODE)
    try:
        return trigger_run(
            workflow=workflow,
            parameters=request.POST,
            started_by=request.user,
            trigger=WorkflowRun.Trigger.MANUAL,
            notify_starter=notify_me,
        )
    except ParameterErrors as exc:
        for name, problems in exc.errors.items():
            form.add_error(name if name in form.fields else None, problems)
    except WorkflowNotRunnable as exc:
        form.add_error(None, str(exc))
    return None


def _past_run(request, workflow) -> WorkflowRun | None:
    """The run named by ``?from_run=`` if it is one of this workflow's; else a message."""
    raw = request.GET.get("from_run", "")
    run = None
    if raw.isdigit():
        run = WorkflowRun.objects.filter(pk=int(raw), workflow=workflow).first()
    if run is None:
        messages.warning(
            request,
            _("This workflow has no run “%(run)s” to copy: the form shows the default values.")
            % {"run": raw},
        )
    return run


@require_POST
def workflow_pause(request, slug):
    """Pause or unpause a workflow's schedules (Editors and above)."""
    workflow, _access = workflow_for(request.user, slug, "change")
    action = request.POST.get("action")
    if action not in ("pause", "unpause"):
        messages.error(request, _("Nothing changed: say whether to pause or unpause."))
        return redirect(workflow)
    changed = pause_workflow(workflow=workflow, paused=action == "pause", user=request.user)
    if action == "pause":
        done = _("Paused: its schedule starts no run until it is unpaused.")
        already = _("It was already paused.")
    else:
        done = _("Unpaused: its schedule starts runs again.")
        already = _("It was not paused.")
    if changed:
        messages.success(request, done)
    else:
        messages.info(request, already)
    return redirect(workflow)
