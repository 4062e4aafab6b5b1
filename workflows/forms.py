"""Forms of the workflow pages: the home search, "run again with these parameters", presets."""

import json
from dataclasses import dataclass, field
from decimal import InvalidOperation

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .parameter_kinds import KINDS
from .parameters import ParameterForm, ParameterSchema
from .presenters import shown_value


class WorkflowSearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": gettext_lazy("Name or description")}
        ),
    )
    # Text, not a choice: a link to a tag no workflow has any more matches nothing, not everything.
    tag = forms.CharField(label=gettext_lazy("Tag"), required=False, widget=forms.Select)

    def __init__(self, *args, tags=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].widget.choices = [("", gettext_lazy("All tags"))] + [
            (tag, tag) for tag in tags
        ]

    def cleaned(self, name: str) -> str:
        """The field's valid value, or "" (a field with an error is not applied)."""
        self.is_valid()
        return self.cleaned_data.get(name) or ""


@dataclass
class Prefill:
    """The run form filled from a past run, with what no longer fits said out loud."""

    form: ParameterForm
    dropped: list = field(default_factory=list)  # (name, value shown) no longer parameters
    added: list = field(default_factory=list)  # labels of parameters the run did not have


# What loading an old JSON value into a parameter of another type may raise.
_MISFITS = (TypeError, ValueError, KeyError, AttributeError, InvalidOperation, OverflowError)


def _as_form_value(parameter, value):
    """A stored JSON value as the form field shows it; the raw value when it no longer fits."""
    if value is None:
        return None
    try:
        return KINDS[parameter.kind].display(parameter, parameter.load(value))
    except _MISFITS:
        return value


def prefill_from_run(schema: ParameterSchema, run) -> Prefill:
    """A bound run form holding ``run``'s values, checked against the *current* schema.

    A value that no longer fits its parameter (whose type changed) shows its
    error beside the field; a parameter since removed is listed, not silently
    dropped; a parameter since added takes its default.
    """
    used = _("Run #%(number)s used “%(value)s” here, which no longer fits:")
    return prefill_from_values(schema, run.parameters or {}, used, number=run.number)


def prefill_from_preset(schema: ParameterSchema, preset) -> Prefill:
    """A bound run form holding a preset's values, checked like a past run's."""
    held = _("The preset “%(name)s” holds “%(value)s” here, which no longer fits:")
    return prefill_from_values(schema, preset.parameters or {}, held, name=preset.name)


def prefill_from_values(schema: ParameterSchema, old: dict, misfit: str, **words) -> Prefill:
    """A bound run form holding stored JSON ``old``; ``misfit`` introduces a value's error."""
    data, added = {}, []
    for parameter in schema:
        if parameter.name in old:
            data[parameter.name] = _as_form_value(parameter, old[parameter.name])
        else:
            added.append(parameter.label)
            if parameter.initial() is not None:
                data[parameter.name] = parameter.initial()
    form = schema.form_class()(data)
    form.is_valid()
    for name, errors in form.errors.items():
        if name in old:
            value = old[name]
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            context = misfit % {**words, "value": shown}
            messages = [m for problem in errors.as_data() for m in problem.messages]
            errors.data = [f"{context} {message}" for message in messages]
    known = {parameter.name for parameter in schema}
    dropped = [(name, shown_value(value)) for name, value in old.items() if name not in known]
    return Prefill(form=form, dropped=dropped, added=added)
