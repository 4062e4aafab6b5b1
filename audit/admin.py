"""The audit trail in the admin: a read-only list, for superusers too."""

import json

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent


class CappedCountPaginator(Paginator):
    """Counts at most ``CAP`` rows: no COUNT(*) over millions of events on every page."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP].count()


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Nobody adds, changes or deletes an event here: the trail is append-only."""

    list_display = (
        "id",
        "created_at",
        "actor_label",
        "token_name",
        "verb",
        "object_label",
        "workflow_slug",
        "ip_address",
    )
    list_filter = ("verb",)
    search_fields = ("=actor_label", "=workflow_slug", "=object_id")
    ordering = ("-id",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    fields = (
        "id",
        "created_at",
        "actor_label",
        "actor",
        "token_name",
        "verb",
        "object_type",
        "object_id",
        "object_label",
        "workflow_slug",
        "pretty_details",
        "ip_address",
        "user_agent",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    @admin.display(description=_("details"))
    def pretty_details(self, event: AuditEvent):
        text = json.dumps(event.details, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html("<pre>{}</pre>", text)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
