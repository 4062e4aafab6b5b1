"""Presets on the pages: saving one from the run form, deleting one, and the run form of
someone who may start runs from presets only.

Owners ("manage") save and delete presets; anyone who may start runs uses them
to fill the form; a Preset runner ("trigger_presets") picks one and starts it
as it is, values shown but not editable.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import workflow_for
from runs.models import WorkflowRun
from runs.services import WorkflowNotRunnable, trigger_run

from .errors import ParameterErrors
from .models import ParameterPreset
from .presenters import shown_value
from .presets import PresetRefused, checked_presets, preset_delete, preset_save

SAVE_BUTTON = "save_preset"


def save_from_form(request, workflow, schema, form):
    """Save the posted values as a preset (Owners); a redirect, or None with the form's errors."""
    try:
        preset = preset_save(
            workflow=workflow,
            name=request.POST.get("preset_name", ""),
            values=request.POST,
            schema=schema,
            user=request.user,
        )
    except PresetRefused as exc:
        form.add_error(None, str(exc))
        return None
    except ParameterErrors as exc:
        for name, problems in exc.errors.items():
            form.add_error(name if name in form.fields else None, problems)
        return None
    messages.success(request, _("Preset “%(name)s” is saved.") % {"name": preset.name})
    return redirect(f"{reverse('workflows:run', args=[workflow.slug])}?preset={preset.pk}")


def preset_named(request, workflow) -> ParameterPreset | None:
    """The preset of ``?preset=`` if it is one of this workflow's; else a message."""
    raw = request.GET.get("preset", "")
    preset = None
    if raw.isdigit():
        preset = ParameterPreset.objects.filter(pk=int(raw), workflow=workflow).first()
    if preset is None:
        messages.warning(
            request,
            _("This workflow has no preset “%(preset)s”: the form shows the default values.")
            % {"preset": raw},
        )
    return preset


def presets_only_form(request, workflow, definition):
    """Pick a preset and start it as it is: for those who may run presets only."""
    schema = definition.parameters
    checks = checked_presets(workflow, schema)
    error = ""
    if request.method == "POST":
        raw = request.POST.get("preset", "")
        chosen = next((c for c in checks if raw.isdigit() and c.preset.pk == int(raw)), None)
        if chosen is None:
            error = _("Choose one of the presets below.")
        elif not chosen.fits:
            error = _(
                "The preset “%(name)s” no longer fits this workflow: ask an Owner to update it."
            ) % {"name": chosen.preset.name}
        else:
            run = _start_preset(request, workflow, chosen.preset)
            if isinstance(run, WorkflowRun):
                messages.success(request, _("Run #%(number)s started.") % {"number": run.number})
                return redirect(run.get_absolute_url())
            error = run
    labels = {parameter.name: parameter.label for parameter in schema}
    rows = [
        (
            check,
            [(labels.get(n, n), shown_value(v)) for n, v in check.preset.parameters.items()],
        )
        for check in checks
    ]
    context = {"workflow": workflow, "rows": rows, "error": error}
    status = 400 if error else 200
    return render(request, "workflows/run_presets_only.html", context, status=status)


def _start_preset(request, workflow, preset) -> WorkflowRun | str:
    """The run started from ``preset``, or why it could not start."""
    try:
        return trigger_run(
            workflow=workflow,
            parameters=preset.parameters,
            started_by=request.user,
            trigger=WorkflowRun.Trigger.MANUAL,
            note=_("From the preset “%(name)s”.") % {"name": preset.name},
        )
    except ParameterErrors:
        return _(
            "The preset “%(name)s” no longer fits this workflow: ask an Owner to update it."
        ) % {"name": preset.name}
    except WorkflowNotRunnable as exc:
        return str(exc)


@require_POST
def delete(request, slug, preset_id: int):
    """Delete a preset (Owners)."""
    workflow, _access = workflow_for(request.user, slug, "manage")
    preset = get_object_or_404(ParameterPreset, pk=preset_id, workflow=workflow)
    preset_delete(preset=preset, user=request.user)
    messages.success(request, _("Preset “%(name)s” is deleted.") % {"name": preset.name})
    return redirect(workflow)
