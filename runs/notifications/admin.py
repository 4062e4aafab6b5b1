"""Channels and rules, managed by admins; the outbox, read by them (with "send again")."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import workflows_for

from ..admin import ReadOnlyAdmin
from .models import Channel, Notification, NotificationRule, RecipientLanguage, split_addresses

WHEN = ("on_failure", "on_success", "on_retry", "on_missed_schedule", "slower_than")
KEEP = _("Leave empty to keep the current value; it is never shown.")


class ChannelForm(forms.ModelForm):
    """The secret and a chat webhook's URL (its path is a token) are write-only."""

    url = forms.URLField(
        label=_("webhook URL"),
        required=False,
        max_length=1000,
        assume_scheme="https",
        widget=forms.PasswordInput(render_value=False),
    )
    secret = forms.CharField(
        label=_("signing secret"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False),
    )

    class Meta:
        model = Channel
        fields = ["name", "kind", "url", "addresses", "secret", "language", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in ("url", "secret"):
                if getattr(self.instance, name):
                    self.fields[name].help_text = KEEP

    def clean(self):
        data = super().clean()
        for name in ("url", "secret"):
            if not data.get(name) and self.instance.pk:
                data[name] = getattr(self.instance, name)  # empty: keep the stored one
        kind = data.get("kind")
        if kind == Channel.Kind.EMAIL:
            if not split_addresses(data.get("addresses", "")):
                self.add_error("addresses", _("An e-mail channel needs at least one address."))
            else:
                for address in split_addresses(data["addresses"]):
                    try:
                        forms.EmailField().clean(address)
                    except forms.ValidationError:
                        self.add_error(
                            "addresses",
                            _("“%(address)s” is not an e-mail address.") % {"address": address},
                        )
        elif kind and not data.get("url"):
            self.add_error("url", _("This kind of channel needs its webhook URL."))
        return data


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ["name", "kind", "where", "language", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]

    @admin.display(description=_("sends to"))
    def where(self, channel):
        if channel.kind == Channel.Kind.EMAIL:
            return channel.addresses
        # A Slack or Teams URL's path is its token: only the server is shown.
        return "/".join(channel.url.split("/", 3)[:3]) + "/…" if channel.url else "—"


@admin.register(NotificationRule)
class NotificationRuleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "workflow", "events_text", "to_owners", "group", "channel"]
    list_filter = ["is_active", "to_owners", "channel"]
    list_select_related = ["workflow", "group", "channel"]
    fieldsets = [
        (None, {"fields": ["workflow", "is_active"]}),
        (_("When"), {"fields": [*WHEN]}),
        (_("To whom"), {"fields": ["to_owners", "group", "channel"]}),
    ]

    def get_queryset(self, request):
        rules = super().get_queryset(request)
        if request.user.is_superuser:
            return rules
        return rules.filter(workflow__in=workflows_for(request.user, "manage"))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A rule is for a workflow its author may manage (who hears about it is theirs to say).
        if db_field.name == "workflow" and not request.user.is_superuser:
            kwargs["queryset"] = workflows_for(request.user, "manage")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("events"))
    def events_text(self, rule):
        return ", ".join(rule.events()) or "—"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not (obj.to_owners or obj.group_id or obj.channel_id):
            self.message_user(
                request, _("This rule names no recipient: it sends nothing."), messages.WARNING
            )


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event", "workflow", "run", "recipient", "state", "attempts"]
    list_filter = ["state", "event"]
    list_select_related = ["workflow", "run__workflow", "user", "channel"]
    search_fields = ["workflow__slug", "answer"]
    readonly_fields = [
        "event",
        "workflow",
        "run",
        "task_run",
        "user",
        "channel",
        "language",
        "why",
        "state",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "answer",
        "details",
        "created_at",
    ]
    exclude = ["key", "claimed_at"]
    actions = ["send_again"]

    @admin.display(description=_("to"))
    def recipient(self, notification):
        return notification.recipient_label

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or super().has_view_permission(request, obj)

    @admin.action(description=_("Send the selected failed notifications again"))
    def send_again(self, request, queryset):
        failed = queryset.filter(state=Notification.State.FAILED).select_related("workflow")
        allowed = [n.pk for n in self.allowed(request, failed, lambda n: n.workflow)]
        count = Notification.objects.filter(pk__in=allowed, state=Notification.State.FAILED).update(
            state=Notification.State.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        self.message_user(
            request, _("%(count)d notification(s) will be sent again.") % {"count": count}
        )


@admin.register(RecipientLanguage)
class RecipientLanguageAdmin(admin.ModelAdmin):
    """Each person's language, remembered when they log in or tick "Notify me"; set here too."""

    list_display = ["user", "language"]
    list_filter = ["language"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user"]
