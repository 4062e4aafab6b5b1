"""Admin for workflow schedules: the timing is a django-celery-beat row, edited here.

Editing a workflow's schedule needs "change" on that workflow, as pausing does:
a staff user lists the schedules of the workflows they may see, and adds,
edits or deletes only those of the workflows they may change.
"""

import json

from django import forms
from django.contrib import admin
from django.db import transaction
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
)

from accounts.permissions import access_of, workflows_for

from .errors import ParameterErrors
from .models import WorkflowSchedule
from .parameter_fields import StorableJSONField
from .registry import get_registry
from .schedule_form_parts import (
    TIMING_FIELDS,
    ScheduleTimingMixin,
    form_with_parameter_fields,
    parameter_field_names,
    workflow_from_query,
)
from .schedules import BATON_TASK, describe


class WorkflowScheduleForm(ScheduleTimingMixin, forms.ModelForm):
    name = forms.CharField(max_length=200, help_text="A name for this schedule, unique.")
    crontab = forms.ModelChoiceField(
        CrontabSchedule.objects.all(), required=False, help_text="Or pick an existing crontab row."
    )
    interval = forms.ModelChoiceField(
        IntervalSchedule.objects.all(), required=False, help_text="Or an existing interval row."
    )
    clocked = forms.ModelChoiceField(
        ClockedSchedule.objects.all(), required=False, help_text="Or an existing one-off time."
    )
    enabled = forms.BooleanField(required=False, initial=True)

    class Meta:
        model = WorkflowSchedule
        fields = ("workflow", "parameters")
        field_classes = {"parameters": StorableJSONField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        task = self.instance.periodic_task if self.instance.pk else None
        if task:
            for name in ("name", "crontab", "interval", "clocked", "enabled"):
                self.fields[name].initial = getattr(task, name)

    def clean(self):
        data = super().clean()
        timings = [name for name in TIMING_FIELDS if data.get(name)]
        if len(timings) != 1:
            raise forms.ValidationError(
                "Choose exactly one of crontab, interval or clocked. Type a cron expression, "
                "an interval (every N minutes, hours or days) or a one-off time, or pick one "
                "existing row."
            )
        name = data.get("name")
        others = PeriodicTask.objects.filter(name=name)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.periodic_task_id)
        if name and others.exists():
            self.add_error("name", "Another schedule already has this name.")
        if self.uses_parameter_fields():
            self.clean_parameter_fields(data)
        else:
            self._check_parameters(data)
        return data

    def _check_parameters(self, data):
        workflow = data.get("workflow")
        definition = get_registry().get(workflow.slug) if workflow else None
        if definition is None:
            return
        try:
            definition.parameters.validate(data.get("parameters") or {})
        except ParameterErrors as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
            self.add_error("parameters", f"These values do not fit the workflow: {problems}")

    @transaction.atomic
    def save(self, commit=True):
        schedule = super().save(commit=False)
        task = schedule.periodic_task if schedule.pk else PeriodicTask(task=BATON_TASK)
        self.resolve_typed_timing()
        for name in ("name", "crontab", "interval", "clocked", "enabled"):
            setattr(task, name, self.cleaned_data[name])
        task.one_off = bool(self.cleaned_data["clocked"])
        task.kwargs = json.dumps({"workflow": schedule.workflow.slug})
        task.save()
        schedule.periodic_task = task
        if not schedule.from_code:
            schedule.owner = WorkflowSchedule.Owner.ADMIN
        schedule.save()
        return schedule

    def save_m2m(self):
        pass


@admin.register(WorkflowSchedule)
class WorkflowScheduleAdmin(admin.ModelAdmin):
    form = WorkflowScheduleForm
    list_display = ("name", "workflow", "timing", "enabled", "owner", "last_run_at")
    list_filter = ("owner", "periodic_task__enabled")
    search_fields = ("workflow__slug", "periodic_task__name")
    list_select_related = (
        "workflow",
        "periodic_task__crontab",
        "periodic_task__interval",
        "periodic_task__clocked",
    )
    readonly_fields = ("owner", "from_code", "code_schedule")
    fields = (
        "workflow",
        "name",
        "cron",
        ("every", "every_unit"),
        "once_at",
        "crontab",
        "interval",
        "clocked",
        "enabled",
        "parameters",
        "owner",
        "from_code",
        "code_schedule",
    )

    def get_form(self, request, obj=None, change=False, **kwargs):
        """The form, with the workflow's parameters as its own fields when the workflow is
        known (editing, or adding with ``?workflow=<id>``): not raw JSON."""
        workflow = obj.workflow if obj is not None else workflow_from_query(request)
        with_parameters = form_with_parameter_fields(self.form, workflow)
        if with_parameters is not None:
            kwargs["form"] = with_parameters
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        workflow = obj.workflow if obj is not None else workflow_from_query(request)
        names = parameter_field_names(workflow)
        if not names:
            return self.fields
        return tuple(name for name in self.fields if name != "parameters") + names

    def get_queryset(self, request):
        schedules = super().get_queryset(request)
        if request.user.is_superuser:
            return schedules
        return schedules.filter(workflow__in=workflows_for(request.user, "view"))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "workflow" and not request.user.is_superuser:
            kwargs["queryset"] = workflows_for(request.user, "change")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("delete_selected", None)  # it checks no workflow's rights
        return actions

    def _may_change(self, request, obj) -> bool:
        return obj is None or access_of(request.user, obj.workflow).may_change

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_change(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_change(request, obj)

    @admin.display(ordering="periodic_task__name")
    def name(self, obj):
        return obj.periodic_task.name

    @admin.display(description="When")
    def timing(self, obj):
        return describe(obj.periodic_task)

    @admin.display(boolean=True)
    def enabled(self, obj):
        return obj.periodic_task.enabled

    def last_run_at(self, obj):
        return obj.periodic_task.last_run_at
