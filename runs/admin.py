"""Runs in the admin: read-only records, changed only through the run actions (services)."""

from django.contrib import admin, messages
from django.utils.html import format_html

from .models import TaskAttempt, TaskRun, WorkflowRun
from .selectors import task_log
from .services import ActionRefused, WorkflowNotRunnable, cancel_run, mark_task, retry_failed_tasks


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows are written by the engine; the admin only shows them and calls the actions."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TaskRunInline(admin.TabularInline):
    model = TaskRun
    fields = ["task_name", "state", "attempt", "max_attempts", "started_at", "finished_at", "error"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WorkflowRun)
class WorkflowRunAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "state", "trigger", "started_by", "created_at", "duration"]
    list_filter = ["state", "trigger", "workflow"]
    search_fields = ["workflow__slug", "note"]
    date_hierarchy = "created_at"
    list_select_related = ["workflow", "started_by"]
    inlines = [TaskRunInline]
    actions = ["cancel_selected", "retry_failed_selected"]

    @admin.action(description="Cancel the selected runs")
    def cancel_selected(self, request, queryset):
        cancelled = sum(cancel_run(run=run, user=request.user) for run in queryset)
        self.message_user(request, f"{cancelled} run(s) cancelled.")

    @admin.action(description="Retry the failed tasks of the selected runs")
    def retry_failed_selected(self, request, queryset):
        for run in queryset:
            try:
                count = retry_failed_tasks(run=run, user=request.user)
            except (ActionRefused, WorkflowNotRunnable) as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                self.message_user(request, f"{run}: {count} task(s) will run again.")


@admin.register(TaskRun)
class TaskRunAdmin(ReadOnlyAdmin):
    list_display = ["task_name", "run", "state", "attempt", "worker", "started_at", "finished_at"]
    list_filter = ["state", "queue"]
    search_fields = ["task_name", "run__workflow__slug"]
    list_select_related = ["run__workflow"]
    exclude = ["upstream", "downstream"]
    readonly_fields = ["latest_log"]
    actions = ["mark_success", "mark_failed"]

    @admin.display(description="Log of the latest attempt")
    def latest_log(self, obj):
        return format_html("<pre>{}</pre>", task_log(task_run=obj) or "(empty)")

    @admin.action(description="Mark the selected tasks success")
    def mark_success(self, request, queryset):
        self._mark(request, queryset, "success")

    @admin.action(description="Mark the selected tasks failed")
    def mark_failed(self, request, queryset):
        self._mark(request, queryset, "failed")

    def _mark(self, request, queryset, state):
        reason = "from the admin"
        count = sum(
            mark_task(task_run=task, state=state, reason=reason, user=request.user)
            for task in queryset
        )
        self.message_user(request, f"{count} task(s) marked {state}.")


@admin.register(TaskAttempt)
class TaskAttemptAdmin(ReadOnlyAdmin):
    list_display = ["task_run", "number", "state", "worker", "started_at", "finished_at"]
    list_filter = ["state"]
    list_select_related = ["task_run__run__workflow"]
