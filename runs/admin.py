"""Runs in the admin: read-only records, changed only through the run actions (services).

The admin follows the pages' rules: a staff user sees the runs of the workflows
they may see (``workflows_for``), and each action checks, run by run, that they
may change its workflow (``access_of``), as the run page's buttons do. A run
they may not change is named in a message and left as it was.
"""

from django.contrib import admin, messages
from django.utils.html import format_html

from accounts.permissions import access_of, workflows_for

from .models import Pool, TaskAttempt, TaskRun, WorkflowRun
from .pools import parked, release_slot
from .selectors import task_log
from .services import ActionRefused, WorkflowNotRunnable, cancel_run, mark_task, retry_failed_tasks
from .states import TaskState

REFUSALS = (ActionRefused, WorkflowNotRunnable)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows are written by the engine; the admin only shows them and calls the actions.

    ``workflow_path`` is the lookup from the row to its workflow: the list holds
    only the rows of workflows the user may see, like the pages.
    """

    workflow_path = "workflow"

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if request.user.is_superuser:
            return rows
        return rows.filter(**{f"{self.workflow_path}__in": workflows_for(request.user, "view")})

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_act_permission(self, request):
        """Whether to offer the actions at all: the user may change some workflow."""
        return workflows_for(request.user, "change").exists()

    def allowed(self, request, rows, workflow_of):
        """The rows whose workflow the user may change; a refusal message for each other one."""
        accesses = {}
        for row in rows:
            workflow = workflow_of(row)
            if workflow.pk not in accesses:
                accesses[workflow.pk] = access_of(request.user, workflow)
            if accesses[workflow.pk].may_change:
                yield row
            else:
                self.message_user(
                    request,
                    f"Refused for {row}: you may not change workflow '{workflow.slug}'; "
                    "nothing was done to it.",
                    messages.ERROR,
                )


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
    list_filter = ["state", "trigger", ("workflow", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["workflow__slug", "note"]
    date_hierarchy = "created_at"
    list_select_related = ["workflow", "started_by"]
    inlines = [TaskRunInline]
    actions = ["cancel_selected", "retry_failed_selected"]

    def _allowed_runs(self, request, queryset):
        runs = queryset.select_related("workflow").order_by("pk")
        return self.allowed(request, runs, lambda run: run.workflow)

    @admin.action(description="Cancel the selected runs", permissions=["act"])
    def cancel_selected(self, request, queryset):
        cancelled = 0
        for run in self._allowed_runs(request, queryset):
            if cancel_run(run=run, user=request.user):
                cancelled += 1
            else:
                self.message_user(request, f"{run} had already finished.", messages.INFO)
        self.message_user(request, f"{cancelled} run(s) cancelled.")

    @admin.action(description="Retry the failed tasks of the selected runs", permissions=["act"])
    def retry_failed_selected(self, request, queryset):
        for run in self._allowed_runs(request, queryset):
            try:
                count = retry_failed_tasks(run=run, user=request.user)
            except REFUSALS as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                self.message_user(request, f"{run}: {count} task(s) will run again.")


@admin.register(TaskRun)
class TaskRunAdmin(ReadOnlyAdmin):
    workflow_path = "run__workflow"
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

    @admin.action(description="Mark the selected tasks success", permissions=["act"])
    def mark_success(self, request, queryset):
        self._mark(request, queryset, TaskState.SUCCESS)

    @admin.action(description="Mark the selected tasks failed", permissions=["act"])
    def mark_failed(self, request, queryset):
        self._mark(request, queryset, TaskState.FAILED)

    def _mark(self, request, queryset, state):
        tasks = queryset.select_related("run__workflow").order_by("pk")
        count = 0
        for task in self.allowed(request, tasks, lambda task: task.run.workflow):
            try:
                count += mark_task(
                    task_run=task, state=state, reason="from the admin", user=request.user
                )
            except REFUSALS as exc:
                self.message_user(request, f"{task}: {exc}", messages.WARNING)
        self.message_user(request, f"{count} task(s) marked {state}.")


@admin.register(TaskAttempt)
class TaskAttemptAdmin(ReadOnlyAdmin):
    workflow_path = "task_run__run__workflow"
    list_display = ["task_run", "number", "state", "worker", "started_at", "finished_at"]
    list_filter = ["state"]
    list_select_related = ["task_run__run__workflow"]


# Notification channels, rules and the outbox, in the same Runs section.
from .notifications import admin as notifications_admin  # noqa: E402, F401


@admin.register(Pool)
class PoolAdmin(admin.ModelAdmin):
    """Pools are made here; tasks name them (``@task(pool="warehouse")``)."""

    list_display = ("name", "slots", "in_use", "waiting", "description")
    search_fields = ("name",)

    def get_readonly_fields(self, request, obj=None):
        # Tasks name a pool in code: a renamed pool would leave them naming none.
        return ("name",) if obj is not None else ()

    @admin.display(description="running now")
    def in_use(self, pool):
        return TaskRun.objects.filter(pool=pool.name, state=TaskState.RUNNING).count()

    @admin.display(description="waiting for a slot")
    def waiting(self, pool):
        return parked(pool.name).count()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        release_slot(obj.name)  # more slots: the waiting tasks start now
