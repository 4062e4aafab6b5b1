from django.contrib import admin
from django.db import router, transaction
from guardian.admin import GuardedModelAdmin

from .models import TaskSpec, Workflow, WorkflowLoadError
from .schedule_admin import WorkflowScheduleAdmin  # noqa: F401  (registers itself)

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
    readonly_fields = CODE_FIELDS
    fieldsets = (
        (None, {"fields": ("slug", "title", "description", "is_paused")}),
        ("Declared in code", {"fields": CODE_FIELDS[3:]}),
    )
    inlines = [TaskSpecInline]

    def has_add_permission(self, request):
        return False  # workflows come from code (sync_workflows)

    # guardian's "Object permissions" pages save a form's grants and removals
    # one by one, each recorded in the audit trail (audit.object_permissions):
    # keep them, and their events, all or none.
    def obj_perms_manage_user_view(self, request, object_pk, user_id):
        with transaction.atomic(using=router.db_for_write(self.model)):
            return super().obj_perms_manage_user_view(request, object_pk, user_id)

    def obj_perms_manage_group_view(self, request, object_pk, group_id):
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
