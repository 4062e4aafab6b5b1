"""Workflows in the admin: what the code declares, read-only; pausing and access go through
the same rules and services as the pages.

- Pause / unpause are list actions calling ``pause_workflow`` (its audit event
  included), refused per workflow the user may not change.
- A staff user lists only the workflows they may see (``workflows_for``).
- A workflow declared in code cannot be deleted (sync would bring it back, and
  its runs are its history); one removed from the code (inactive) may be, from
  its own page, by someone who may manage it, and only while it has no runs
  (runs protect their workflow).
- guardian's "Object permissions" pages are for superusers; everyone else gives
  roles on the workflow's Access page (``grant_role``: nobody gives more than
  they hold).
"""

from django.contrib import admin, messages
from django.db import router, transaction
from django.shortcuts import redirect
from guardian.admin import GuardedModelAdmin

from accounts.permissions import access_of, workflows_for

from .models import TaskSpec, Workflow, WorkflowLoadError
from .schedule_admin import WorkflowScheduleAdmin  # noqa: F401  (registers itself)
from .services import pause_workflow

CODE_FIELDS = (
    "slug",
    "title",
    "description",
    "tags",
    "owners",
    "is_active",
    "max_active_runs",
    "catchup",
    "timeout",
    "schedule",
    "parameter_schema",
    "source_file",
    "source_line",
    "code_hash",
    "created_at",
    "updated_at",
)


class TaskSpecInline(admin.TabularInline):
    model = TaskSpec
    fields = ("position", "name", "kind", "upstream", "retries", "timeout", "queue", "trigger_rule")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Workflow)
class WorkflowAdmin(GuardedModelAdmin):
    list_display = ("slug", "title", "schedule", "is_active", "is_paused", "updated_at")
    list_filter = ("is_active", "is_paused")
    search_fields = ("slug", "title", "description")
    # Paused through the actions (pause_workflow and its audit event), not the form.
    readonly_fields = (*CODE_FIELDS, "is_paused")
    fieldsets = (
        (None, {"fields": ("slug", "title", "description", "is_paused")}),
        ("Declared in code", {"fields": CODE_FIELDS[3:]}),
    )
    inlines = [TaskSpecInline]
    actions = ["pause_selected", "unpause_selected"]

    def get_queryset(self, request):
        workflows = super().get_queryset(request)
        if request.user.is_superuser:
            return workflows
        return workflows.filter(pk__in=workflows_for(request.user, "view"))

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would delete code-declared ones too
        return actions

    def has_add_permission(self, request):
        return False  # workflows come from code (sync_workflows)

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            return super().has_delete_permission(request)
        if obj.is_active:
            return False  # declared in code: sync_workflows owns it
        return super().has_delete_permission(request) and access_of(request.user, obj).may_manage

    def has_pause_permission(self, request):
        return workflows_for(request.user, "change").exists()

    @admin.action(description="Pause the selected workflows' schedules", permissions=["pause"])
    def pause_selected(self, request, queryset):
        self._pause(request, queryset, paused=True)

    @admin.action(description="Unpause the selected workflows' schedules", permissions=["pause"])
    def unpause_selected(self, request, queryset):
        self._pause(request, queryset, paused=False)

    def _pause(self, request, queryset, *, paused: bool):
        changed = 0
        for workflow in queryset.order_by("slug"):
            if not access_of(request.user, workflow).may_change:
                self.message_user(
                    request,
                    f"Refused for {workflow.slug}: you may not change this workflow; "
                    "nothing was done to it.",
                    messages.ERROR,
                )
                continue
            changed += pause_workflow(workflow=workflow, paused=paused, user=request.user)
        done = "paused" if paused else "unpaused"
        self.message_user(request, f"{changed} workflow(s) {done}.")

    # guardian's "Object permissions" pages bypass grant_role's rules (nobody
    # gives more than they hold): superusers only, others go to the Access page.
    def _permissions_refused(self, request, object_pk):
        if request.user.is_superuser:
            return None
        workflow = self.get_queryset(request).filter(pk=object_pk).first()
        if workflow is None:
            return redirect("admin:workflows_workflow_changelist")
        messages.info(request, "Roles on a workflow are given on its Access page.")
        return redirect("accounts:workflow_access", slug=workflow.slug)

    def obj_perms_manage_view(self, request, object_pk):
        refused = self._permissions_refused(request, object_pk)
        return refused or super().obj_perms_manage_view(request, object_pk)

    # guardian saves a form's grants and removals one by one, each recorded in
    # the audit trail (audit.object_permissions): keep them, and their events,
    # all or none.
    def obj_perms_manage_user_view(self, request, object_pk, user_id):
        refused = self._permissions_refused(request, object_pk)
        if refused:
            return refused
        with transaction.atomic(using=router.db_for_write(self.model)):
            return super().obj_perms_manage_user_view(request, object_pk, user_id)

    def obj_perms_manage_group_view(self, request, object_pk, group_id):
        refused = self._permissions_refused(request, object_pk)
        if refused:
            return refused
        with transaction.atomic(using=router.db_for_write(self.model)):
            return super().obj_perms_manage_group_view(request, object_pk, group_id)


@admin.register(TaskSpec)
class TaskSpecAdmin(admin.ModelAdmin):
    list_display = ("workflow", "name", "kind", "queue", "retries", "trigger_rule")
    list_filter = ("kind", "queue")
    search_fields = ("workflow__slug", "name")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in TaskSpec._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WorkflowLoadError)
class WorkflowLoadErrorAdmin(admin.ModelAdmin):
    list_display = ("file", "message", "created_at")
    readonly_fields = ("file", "message", "traceback", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
