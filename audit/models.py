"""The audit trail's rows: events, append-only and hash-chained, and the chain's head.

The tables keep the names they had when the trail lived in ``accounts``
(``accounts_auditevent``, ``accounts_auditchainhead``): the move to this app
changed Django's state only, no data was copied.
"""

import json

from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEventImmutable(Exception):
    """Raised on any attempt to change or remove an audit event: the trail is append-only."""


class AuditEventQuerySet(models.QuerySet):
    """Refuses bulk ``update()`` and ``delete()``: no code path rewrites the trail."""

    def update(self, **kwargs):
        raise AuditEventImmutable("Audit events cannot be changed.")

    def delete(self):
        raise AuditEventImmutable("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """One line of the audit trail: who did what to which object, when, from where.

    Written only by ``audit.record_event``, inside the transaction of
    the action it records, and chained: ``hash`` covers the event's content and
    ``prev_hash`` (the previous event's hash), so ``manage.py verify_audit``
    notices an edited, removed or inserted row.
    """

    class Verb(models.TextChoices):
        LOGIN = "login", _("logged in")
        LOGOUT = "logout", _("logged out")
        LOGIN_FAILED = "login.failed", _("login failed")
        LOGIN_REFUSED = "login.refused", _("login refused")
        RUN_TRIGGERED = "run.triggered", _("run triggered")
        RUN_CANCELLED = "run.cancelled", _("run cancelled")
        RUN_NOTE_CHANGED = "run.note_changed", _("run note changed")
        PRESET_SAVED = "preset.saved", _("preset saved")
        PRESET_DELETED = "preset.deleted", _("preset deleted")
        RUN_RETRIED = "run.retried", _("failed tasks retried")
        TASK_RETRIED = "task.retried", _("task retried")
        TASK_MARKED = "task.marked", _("task marked")
        TASK_APPROVED = "task.approved", _("approval step approved")
        TASK_REJECTED = "task.rejected", _("approval step rejected")
        APPROVAL_TIMED_OUT = "task.approval_timed_out", _("approval step timed out")
        # Moves the scheduler makes by itself (actor "system").
        TASK_RECOVERED = "task.recovered", _("task of a silent worker recovered")
        TASK_RESENT = "task.resent", _("lost task message sent again")
        TASK_RETRY_SENT = "task.retry_sent", _("due retry sent")
        RUN_RESUMED = "run.resumed", _("stalled run resumed")
        RUN_TIMED_OUT = "run.timed_out", _("run timed out")
        WORKFLOW_PAUSED = "workflow.paused", _("workflow paused")
        WORKFLOW_UNPAUSED = "workflow.unpaused", _("workflow unpaused")
        WORKFLOW_ADDED = "workflow.added", _("workflow added")
        WORKFLOW_DEACTIVATED = "workflow.deactivated", _("workflow deactivated")
        WORKFLOW_CODE_CHANGED = "workflow.code_changed", _("workflow code changed")
        SCHEDULE_CREATED = "schedule.created", _("schedule created")
        SCHEDULE_CHANGED = "schedule.changed", _("schedule changed")
        SCHEDULE_DELETED = "schedule.deleted", _("schedule deleted")
        ROLE_GRANTED = "role.granted", _("role granted")
        ROLE_REVOKED = "role.revoked", _("role revoked")
        PERMISSION_GRANTED = "permission.granted", _("permission granted")
        PERMISSION_REVOKED = "permission.revoked", _("permission revoked")
        TOKEN_CREATED = "token.created", _("API token created")
        TOKEN_REVOKED = "token.revoked", _("API token revoked")
        ADMIN_ADDED = "admin.added", _("added in the admin")
        ADMIN_CHANGED = "admin.changed", _("changed in the admin")
        ADMIN_DELETED = "admin.deleted", _("deleted in the admin")

    created_at = models.DateTimeField(_("when"))
    # No database constraint and no SET_NULL: deleting a user must not rewrite
    # (nor be blocked by) the events they caused; ``actor_label`` keeps the name.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(_("actor"), max_length=150)
    token_name = models.CharField(_("API token"), max_length=100, blank=True)
    verb = models.CharField(_("action"), max_length=40, choices=Verb.choices)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_label = models.CharField(_("object"), max_length=200, blank=True)
    workflow_slug = models.CharField(_("workflow"), max_length=200, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    # Text exactly as received (not an inet column): the hash must see the same
    # characters when the row is read back.
    ip_address = models.CharField(_("IP address"), max_length=45, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        db_table = "accounts_auditevent"
        ordering = ["-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        # "view" is the audit viewer's right (the audit page, the CSV and the admin list).
        default_permissions = ("view",)
        indexes = [
            # Unfiltered pages walk the primary key backwards; these serve the
            # filters, each ending in id so that keyset pages (id < cursor
            # ORDER BY id DESC LIMIT n) read only the rows they show.
            models.Index(fields=["workflow_slug", "id"], name="audit_workflow_id"),  # History
            models.Index(fields=["actor_label", "id"], name="audit_actor_id"),  # actor filter
            models.Index(fields=["verb", "id"], name="audit_verb_id"),  # verb filter
            models.Index(fields=["created_at"], name="audit_created_at"),  # date filter bounds
            # Search in details: a PostgreSQL trigram index, in migration 0004.
        ]

    def __str__(self):
        return f"#{self.pk} {self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.verb}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditEventImmutable("Audit events cannot be changed.")
        kwargs["force_insert"] = True  # never an UPDATE, even with a pk set
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEventImmutable("Audit events cannot be deleted.")

    @property
    def object_type_label(self) -> str:
        """The object's kind as a person reads it ("workflow"), from its app_label.model."""
        try:
            return str(apps.get_model(self.object_type)._meta.verbose_name)
        except (LookupError, ValueError):
            return self.object_type

    @property
    def details_text(self) -> str:
        """The details as one line of JSON, for pages."""
        return json.dumps(self.details, ensure_ascii=False, sort_keys=True)


class AuditChainHead(models.Model):
    """The one row holding the end of the audit chain.

    Appending locks it (SELECT … FOR UPDATE) for the rest of the transaction,
    so concurrent writers line up and the chain stays one straight line. It
    also lets ``verify_audit`` notice events removed from the end.
    """

    last_event_id = models.BigIntegerField(null=True)
    last_hash = models.CharField(max_length=64)

    class Meta:
        db_table = "accounts_auditchainhead"
        default_permissions = ()

    def __str__(self):
        return f"audit chain head at event {self.last_event_id}"
