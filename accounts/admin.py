from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.utils.translation import gettext_lazy as _

from .models import ApiToken
from .services import revoke_token

# One login page for everyone: allauth's, with its rate limits and Google, and
# the BATON_PASSWORD_LOGIN switch (the admin's own form would bypass all three).
admin.site.login = login_required(admin.site.login)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "user",
        "display_key",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username", "user__email")
    list_select_related = ("user",)
    fields = (
        "user",
        "name",
        "display_key",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        return False  # tokens are created by their owner (My tokens) or `createtoken`

    @admin.action(description=_("Revoke selected tokens"), permissions=["change"])
    def revoke_selected(self, request, queryset):
        for token in queryset:
            revoke_token(token=token, by=request.user)
        self.message_user(request, _("%(count)d token(s) revoked.") % {"count": len(queryset)})
