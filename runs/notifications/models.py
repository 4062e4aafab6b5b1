"""Channels, rules, the outbox of notifications, and what each recipient reads them in."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from workflows.models import Workflow


class Event(models.TextChoices):
    FAILURE = "failure", _("the run failed")
    SUCCESS = "success", _("the run succeeded")
    CANCELLED = "cancelled", _("the run was cancelled")
    RETRY = "retry", _("a task is retried")
    SLOW = "slow", _("the run is slower than expected")
    MISSED_SCHEDULE = "missed_schedule", _("a schedule slot passed without a run")


# The events that end a run: what "Notify me when it ends" waits for.
END_EVENTS = (Event.FAILURE, Event.SUCCESS, Event.CANCELLED)


class Channel(models.Model):
    """Where messages go besides people's e-mail: a mailing list, Slack, Teams, a webhook.

    ``secret`` (and a Slack or Teams URL, which is a secret too) is write-only in the
    admin: it is used to send, never shown back.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SLACK = "slack", _("Slack (incoming webhook)")
        TEAMS = "teams", _("Microsoft Teams (webhook)")
        WEBHOOK = "webhook", _("Webhook (JSON, signed)")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    url = models.URLField(_("webhook URL"), max_length=1000, blank=True)
    addresses = models.TextField(
        _("e-mail addresses"), blank=True, help_text=_("One or more, separated by commas.")
    )
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        blank=True,
        help_text=_("Webhooks: the key of the HMAC-SHA256 signature in X-Baton-Signature."),
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("notification channel")
        verbose_name_plural = _("notification channels")

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def address_list(self) -> list[str]:
        return split_addresses(self.addresses)


def split_addresses(text: str) -> list[str]:
    return [a.strip() for a in text.replace(";", ",").split(",") if a.strip()]


class NotificationRule(models.Model):
    """An admin's rule: on these events of this workflow, tell these recipients."""

    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="notification_rules"
    )
    on_failure = models.BooleanField(_("on failure"), default=True)
    on_success = models.BooleanField(_("on success"), default=False)
    on_retry = models.BooleanField(_("on retry"), default=False)
    on_missed_schedule = models.BooleanField(_("on a missed schedule"), default=False)
    slower_than = models.DurationField(
        _("when slower than"),
        null=True,
        blank=True,
        help_text=_("Tell when a run is still running after this long (e.g. 00:30:00)."),
    )
    to_owners = models.BooleanField(_("to the workflow's owners"), default=True)
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, verbose_name=_("to a group")
    )
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.CASCADE, verbose_name=_("to a channel")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("notification rule")
        verbose_name_plural = _("notification rules")

    def __str__(self):
        return f"{self.workflow.slug}: rule #{self.pk}"

    def events(self) -> list[str]:
        flags = {
            Event.FAILURE: self.on_failure,
            Event.SUCCESS: self.on_success,
            Event.RETRY: self.on_retry,
            Event.MISSED_SCHEDULE: self.on_missed_schedule,
            Event.SLOW: self.slower_than is not None,
        }
        return [event for event, on in flags.items() if on]


class RunSubscription(models.Model):
    """ "Notify me when it ends": the person who clicked Run, and the language they used."""

    run = models.ForeignKey(
        "runs.WorkflowRun", on_delete=models.CASCADE, related_name="subscriptions"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    language = models.CharField(max_length=10, default=settings.LANGUAGE_CODE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "user"], name="subscription_once_per_run")
        ]

    def __str__(self):
        return f"{self.user} → {self.run_id}"


class RecipientLanguage(models.Model):
    """The language a user reads notifications in: the one they last used on Baton's pages."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_language"
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("notification language")

    def __str__(self):
        return f"{self.user}: {self.language}"


class Notification(models.Model):
    """One message to one recipient (a user's e-mail or a channel): the outbox row.

    Written in the transaction of the state change it tells about; sent afterwards by
    the sender loop of any worker or scheduler. ``key`` makes it once per event and
    recipient, whichever rules and processes ask for it.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        SENDING = "sending", _("being sent")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    key = models.CharField(max_length=300, unique=True)
    event = models.CharField(_("event"), max_length=20, choices=Event.choices)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="notifications")
    run = models.ForeignKey(
        "runs.WorkflowRun",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    task_run = models.ForeignKey(
        "runs.TaskRun", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.CASCADE)
    language = models.CharField(max_length=10, default=settings.LANGUAGE_CODE)
    why = models.CharField(
        _("because of"), max_length=200, blank=True, help_text=_("The rule that asked for it.")
    )
    details = models.JSONField(default=dict, blank=True)  # e.g. the missed slot and why
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    answer = models.TextField(_("server's answer"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(channel__isnull=False),
                name="notification_has_recipient",
            )
        ]
        indexes = [
            # The sender loop's "what is due", asked twice a second by every sender: only
            # the few rows not yet delivered are indexed.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state__in=["pending", "sending"]),
                name="notification_due",
            ),
            # The Owners' page: a workflow's latest notifications.
            models.Index(fields=["workflow", "-created_at"], name="notification_by_workflow"),
        ]

    def __str__(self):
        return f"{self.get_event_display()} → {self.recipient_label}"

    @property
    def recipient_label(self) -> str:
        if self.channel_id:
            return self.channel.name
        return self.user.email or self.user.get_username()
