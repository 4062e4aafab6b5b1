"""Presets: named parameter sets an Owner saves on a workflow, to start runs from.

- ``preset_save`` / ``preset_delete``: the Owners' actions (audited, old and new values).
- ``presets_of``: a workflow's presets, by name.
- ``preset_problems``: what no longer fits in a preset now that the code changed, checked
  against the current form each time a preset is shown or used (as "run again" does).
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.recorder import Verb, record_event

from .errors import ParameterErrors
from .models import ParameterPreset, Workflow
from .parameters import ParameterSchema

NAME_MAX_LENGTH = 100


class PresetRefused(Exception):
    """The preset cannot be saved or used as asked; the message says why."""


@dataclass(frozen=True)
class PresetCheck:
    """A preset held against the current form: its values, or why they no longer fit."""

    preset: ParameterPreset
    problems: list[str]

    @property
    def fits(self) -> bool:
        return not self.problems


def presets_of(workflow: Workflow) -> list[ParameterPreset]:
    presets = ParameterPreset.objects.filter(workflow=workflow).select_related("saved_by")
    return list(presets.order_by("name"))


def preset_problems(preset: ParameterPreset, schema: ParameterSchema) -> list[str]:
    """Each reason the preset's values no longer fit ``schema``, in words ([] when they fit)."""
    labels = {parameter.name: parameter.label for parameter in schema}
    known = {name: value for name, value in preset.parameters.items() if name in labels}
    problems = [
        _("“%(name)s” is no longer a parameter of this workflow.") % {"name": name}
        for name in preset.parameters
        if name not in labels
    ]
    try:
        schema.validate(known, from_form=False)
    except ParameterErrors as exc:
        problems += [
            f"{labels.get(name.strip('“”'), name)}: {' '.join(messages)}"
            for name, messages in exc.errors.items()
        ]
    return problems


def checked_presets(workflow: Workflow, schema: ParameterSchema) -> list[PresetCheck]:
    return [PresetCheck(preset, preset_problems(preset, schema)) for preset in presets_of(workflow)]


def preset_save(
    *, workflow: Workflow, name: str, values: dict, schema: ParameterSchema, user
) -> ParameterPreset:
    """Save ``values`` (a posted form, or JSON) as preset ``name``, replacing one of that name.

    The values are validated against ``schema`` first: a preset that could not
    start a run is refused (``ParameterErrors``), as is a blank or too long name.
    """
    name = " ".join(name.split())
    if not name:
        raise PresetRefused(_("Give the preset a name, e.g. “Monthly, south region”."))
    if len(name) > NAME_MAX_LENGTH:
        raise PresetRefused(
            _("A preset's name holds at most %(limit)s characters.") % {"limit": NAME_MAX_LENGTH}
        )
    stored = schema.dump(schema.validate(values))
    with transaction.atomic():
        preset = (
            ParameterPreset.objects.select_for_update().filter(workflow=workflow, name=name).first()
        )
        old = preset.parameters if preset else None
        if preset is None:
            preset = ParameterPreset(workflow=workflow, name=name)
        preset.parameters, preset.saved_by, preset.saved_at = stored, user, timezone.now()
        preset.save()
        record_event(
            verb=Verb.PRESET_SAVED,
            actor=user,
            obj=preset,
            workflow=workflow,
            details={"name": name, "old": old, "new": stored},
        )
    return preset


def preset_delete(*, preset: ParameterPreset, user) -> None:
    with transaction.atomic():
        record_event(
            verb=Verb.PRESET_DELETED,
            actor=user,
            obj=preset,
            workflow=preset.workflow,
            details={"name": preset.name, "old": preset.parameters},
        )
        preset.delete()
