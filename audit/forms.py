"""The filters of the audit page and of a workflow's History page (all from the query string)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent


class DateInput(forms.DateInput):
    input_type = "date"  # the browser's date picker; it sends YYYY-MM-DD

    def __init__(self):
        super().__init__(format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    actor = forms.CharField(
        label=_("Who"),
        required=False,
        max_length=150,
        help_text=_("A username, “scheduler” or “system”."),
    )
    verb = forms.ChoiceField(
        label=_("Action"),
        required=False,
        choices=[("", _("Any action")), *AuditEvent.Verb.choices],
    )
    workflow = forms.SlugField(label=_("Workflow"), required=False, max_length=200)
    since = forms.DateField(label=_("From"), required=False, widget=DateInput())
    until = forms.DateField(label=_("To"), required=False, widget=DateInput())
    q = forms.CharField(label=_("Search in details"), required=False, max_length=200)
    # Keyset pagination cursors: event ids, set by the Older / Newer links.
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    after = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned


class WorkflowHistoryFilterForm(AuditFilterForm):
    """The same filters on one workflow's events."""

    workflow = None
