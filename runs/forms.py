"""Forms of the run pages: the runs filter, "mark a task", cancel with a reason, the note."""

from datetime import datetime, time, timedelta

from django import forms
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from workflows.parameter_fields import DateInput

from .states import RunState, TaskState
from .templatetags.baton import RUN_WORDS, TRIGGER_WORDS


class QuickSelect(forms.Select):
    """A select rendered in Python: Django renders each option through a template
    (about 0.1 ms apiece), too slow for a list of 1,000 workflows."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = {str(v) for v in self.format_value(value)}
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (key, mark_safe(" selected") if str(key) in chosen else "", label)
                for key, label in self.choices
            ),
        )
        attrs = flatatt(self.build_attrs(self.attrs, attrs))
        return format_html('<select name="{}"{}>{}</select>', name, attrs, options)


class RunFilterForm(forms.Form):
    """The filters of the runs page; a bad value is a message beside its field, not a crash."""

    workflow = forms.ChoiceField(label=_("Workflow"), required=False, widget=QuickSelect)
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("Any state"))] + [(state.value, RUN_WORDS[state]) for state in RunState],
    )
    trigger = forms.ChoiceField(
        label=_("How it started"),
        required=False,
        choices=[("", _("Any way"))] + list(TRIGGER_WORDS.items()),
    )
    started_by = forms.CharField(
        label=_("Started by"),
        required=False,
        max_length=150,
        help_text=_("A user name."),
    )
    since = forms.DateField(
        label=_("From"), required=False, widget=DateInput, input_formats=["%Y-%m-%d"]
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=DateInput, input_formats=["%Y-%m-%d"]
    )

    def __init__(self, *args, workflows=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workflow"].choices = [("", _("All workflows"))] + list(workflows)
        for name in ("since", "until"):
            self.fields[name].error_messages["invalid"] = _("Enter a date, like 2024-01-31.")

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned

    def filters(self) -> dict:
        """The valid filters, as ``runs_for_user`` takes them (fields with errors left out)."""
        cleaned = getattr(self, "cleaned_data", {})
        filters = {
            name: cleaned.get(name)
            for name in ("workflow", "state", "trigger", "started_by")
            if name not in self.errors
        }
        if cleaned.get("since") and "since" not in self.errors:
            filters["since"] = _start_of(cleaned["since"])
        if cleaned.get("until") and "until" not in self.errors:
            filters["before"] = _start_of(cleaned["until"] + timedelta(days=1))
        return filters


def _start_of(day) -> datetime:
    """Midnight of ``day`` in the configured time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


class MarkTaskForm(forms.Form):
    """Set a task's outcome by hand; the reason is required and kept on the task."""

    state = forms.ChoiceField(
        label=_("Mark the task as"),
        choices=[
            (TaskState.SUCCESS.value, _("Succeeded")),
            (TaskState.FAILED.value, _("Failed")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Say why, for those who read this run later (kept with the task)."),
        error_messages={"required": _("Give a reason: it is kept with the task.")},
    )


class CancelRunForm(forms.Form):
    """Confirm cancelling a run; the reason is optional and shown on the run page."""

    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown on the run page beside who cancelled it."),
    )


class RunNoteForm(forms.Form):
    """The note of a run: blank removes it."""

    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For those who read this run later: what it was for, what to watch."),
    )
