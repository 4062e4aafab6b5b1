"""The parts of the schedule admin form that spare admins django-celery-beat's rows.

- The timing typed in place: a cron expression, "every N minutes/hours/days", or a
  one-off date and time; the matching crontab/interval/clocked row is found or made
  on save (the drop-downs of existing rows stay, for the rare reuse).
- The parameters as the workflow's own generated form (one field per parameter,
  checked by the same validator as the run form), not raw JSON, once the workflow
  is known: when editing, or when adding from ``?workflow=<id>``.
"""

from django import forms
from django.conf import settings
from django.http import QueryDict
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule

from .errors import DefinitionError, ParameterErrors
from .models import Workflow
from .parameter_kinds import KINDS
from .registry import get_registry
from .schedules import parse_cron

TIMING_FIELDS = ("cron", "every", "once_at", "crontab", "interval", "clocked")
PARAMETER_PREFIX = "param_"
UNITS = {
    "minutes": IntervalSchedule.MINUTES,
    "hours": IntervalSchedule.HOURS,
    "days": IntervalSchedule.DAYS,
}


class ScheduleTimingMixin(forms.Form):
    cron = forms.CharField(
        required=False,
        max_length=100,
        label="Cron expression",
        help_text=f"minute hour day-of-month month day-of-week, e.g. “0 6 * * 1-5” "
        f"(06:00 on working days, {settings.TIME_ZONE}).",
    )
    every = forms.IntegerField(required=False, min_value=1, label="Every")
    every_unit = forms.ChoiceField(
        required=False, choices=[(unit, unit) for unit in UNITS], initial="hours", label="Unit"
    )
    once_at = forms.DateTimeField(
        required=False,
        label="Once, at",
        help_text=f"A one-off run ({settings.TIME_ZONE}).",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )

    def clean_cron(self):
        expression = " ".join(self.cleaned_data.get("cron", "").split())
        if expression:
            try:
                parse_cron(expression)
            except DefinitionError as exc:
                raise forms.ValidationError(str(exc)) from None
        return expression

    def resolve_typed_timing(self) -> None:
        """Turn a typed timing into the django-celery-beat row it stands for (made if new)."""
        data = self.cleaned_data
        if data.get("cron"):
            fields = parse_cron(data["cron"])
            data["crontab"], _ = CrontabSchedule.objects.get_or_create(
                **fields, timezone=settings.TIME_ZONE
            )
        elif data.get("every"):
            period = UNITS[data.get("every_unit") or "hours"]
            data["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=data["every"], period=period
            )
        elif data.get("once_at"):
            data["clocked"], _ = ClockedSchedule.objects.get_or_create(clocked_time=data["once_at"])

    # --- The parameters as fields ------------------------------------------------------

    schema = None  # set on the subclass made for one workflow

    def uses_parameter_fields(self) -> bool:
        return self.schema is not None and any(
            key.startswith(PARAMETER_PREFIX) for key in self.data
        )

    def clean_parameter_fields(self, data) -> None:
        posted = QueryDict(mutable=True)
        for key in self.data:
            if key.startswith(PARAMETER_PREFIX):
                posted.setlist(key[len(PARAMETER_PREFIX) :], self.data.getlist(key))
        try:
            values = self.schema.validate(posted)
        except ParameterErrors as exc:
            for name, problems in exc.errors.items():
                field = PARAMETER_PREFIX + name
                self.add_error(field if field in self.fields else None, problems)
            return
        self.instance.parameters = self.schema.dump(values)


def workflow_from_query(request) -> Workflow | None:
    raw = request.GET.get("workflow", "")
    return Workflow.objects.filter(pk=int(raw)).first() if raw.isdigit() else None


def _schema_of(workflow):
    definition = get_registry().get(workflow.slug) if workflow else None
    return definition.parameters if definition else None


def parameter_field_names(workflow) -> tuple:
    schema = _schema_of(workflow)
    return tuple(PARAMETER_PREFIX + parameter.name for parameter in schema) if schema else ()


def form_with_parameter_fields(form_class, workflow):
    """``form_class`` with one field per parameter of ``workflow``, filled from the schedule."""
    schema = _schema_of(workflow)
    if schema is None:
        return None
    fields = {
        PARAMETER_PREFIX + name: field for name, field in schema.form_class()().fields.items()
    }

    def __init__(self, *args, **kwargs):
        form_class.__init__(self, *args, **kwargs)
        stored = self.instance.parameters if self.instance.pk else {}
        for parameter in schema:
            if parameter.name in stored and stored[parameter.name] is not None:
                kind = KINDS[parameter.kind]
                shown = kind.display(parameter, parameter.load(stored[parameter.name]))
                self.fields[PARAMETER_PREFIX + parameter.name].initial = shown

    return type(
        "WorkflowScheduleFormWithParameters",
        (form_class,),
        {**fields, "schema": schema, "__init__": __init__},
    )
