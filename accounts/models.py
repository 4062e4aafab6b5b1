from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """A personal API token. Only a hash of the secret is stored; it acts as its user."""

    KEY_START = "baton_"  # every token starts so, which lets secret scanners spot leaked ones

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    # Public part of the token, shown in lists and used to find the row; the
    # secret part is only compared, as a hash, in constant time.
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    key_hash = models.CharField(_("SHA-256 of the token"), max_length=64)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.name} ({self.display_key})"

    @property
    def display_key(self) -> str:
        """What the user sees of the token once it was created: its beginning."""
        return f"{self.KEY_START}{self.prefix}_…"

    def status(self, now=None) -> "ApiToken.Status":
        now = now or timezone.now()
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.expires_at is not None and self.expires_at <= now:
            return self.Status.EXPIRED
        return self.Status.ACTIVE


class ApiIdempotencyKey(models.Model):
    """An ``Idempotency-Key`` sent when starting a run through the API, kept for a day.

    A client that retries the same request with the same key (after a timeout or
    a dropped connection) gets the run its first request started instead of a
    second run. Keys are per user and workflow; see ``accounts.idempotency``.
    """

    LIFETIME = timedelta(hours=24)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey("workflows.Workflow", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    # SHA-256 of the request's parameters: the same key with other parameters is a client bug.
    request_hash = models.CharField(max_length=64)
    run = models.ForeignKey("runs.WorkflowRun", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Two concurrent requests with one key: the second insert fails and
            # that request answers with the first one's run.
            models.UniqueConstraint(
                fields=["user", "workflow", "key"], name="idempotency_key_once_per_workflow"
            )
        ]
        verbose_name = _("API idempotency key")

    def __str__(self):
        return f"{self.key} → run {self.run_id}"


class TimeZonePreference(models.Model):
    """The time zone a user chose for Baton's pages; without one, their browser's is used.

    Read at login into the session, so pages pay no query for it.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_zone_preference"
    )
    time_zone = models.CharField(max_length=64)

    def __str__(self):
        return f"{self.user}: {self.time_zone}"
