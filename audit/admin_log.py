"""Changes made through the Django admin, recorded from its own log (``LogEntry``).

The admin writes a LogEntry in the transaction of every add, change and
delete; each one becomes an ``admin.*`` event (``schedule.*`` for workflow
schedules), in that same transaction, with the values the change replaced
(see ``admin_changes``).
"""

import functools

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry, LogEntryManager
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django_celery_beat.models import PeriodicTask

from audit.models import AuditEvent
from workflows.models import WorkflowSchedule

from .admin_changes import remembered_changes
from .recorder import ObjectRef, record_event, workflow_of

Verb = AuditEvent.Verb
ADMIN_VERBS = {ADDITION: Verb.ADMIN_ADDED, CHANGE: Verb.ADMIN_CHANGED, DELETION: Verb.ADMIN_DELETED}
SCHEDULE_VERBS = {
    ADDITION: Verb.SCHEDULE_CREATED,
    CHANGE: Verb.SCHEDULE_CHANGED,
    DELETION: Verb.SCHEDULE_DELETED,
}


def record_admin_log_entry(entry: LogEntry) -> None:
    """Record the audit event of one admin LogEntry (once, even if called twice)."""
    if getattr(entry, "_baton_audit_recorded", False):
        return
    entry._baton_audit_recorded = True
    obj = _logged_object(entry)
    content_type = entry.content_type
    ref = ObjectRef(
        f"{content_type.app_label}.{content_type.model}" if content_type else "",
        "" if entry.object_id is None else str(entry.object_id),  # the pk itself until reloaded
        entry.object_repr,
    )
    details = {"change": entry.get_change_message(), "admin_log_id": entry.pk}
    details.update(remembered_changes(ref.type, ref.id))
    is_schedule = _is_schedule(obj)
    if is_schedule:
        details["source"] = "admin"
    record_event(
        verb=(SCHEDULE_VERBS if is_schedule else ADMIN_VERBS)[entry.action_flag],
        actor=entry.user,
        obj=ref,
        workflow=workflow_of(obj) if obj is not None else None,
        details=details,
    )


def _logged_object(entry: LogEntry):
    """The object as it is now (a deletion is logged just before the delete), or None."""
    try:
        return entry.get_edited_object()
    except (ObjectDoesNotExist, AttributeError):  # gone, or a content type without a model
        return None


def _is_schedule(obj) -> bool:
    if isinstance(obj, WorkflowSchedule):
        return True
    if isinstance(obj, PeriodicTask):
        try:
            return obj.baton_schedule is not None
        except ObjectDoesNotExist:
            return False
    return False


def on_log_entry_saved(sender, instance: LogEntry, created: bool, raw: bool = False, **kwargs):
    """post_save of LogEntry: the admin's add, change and delete views."""
    if created and not raw:
        record_admin_log_entry(instance)


def record_bulk_log_entries(log_actions):
    """Wraps ``LogEntryManager.log_actions``, whose bulk_create sends no post_save.

    Several objects deleted at once by the admin's "delete selected" action are
    logged with one bulk insert; this records their events in its transaction.
    """

    @functools.wraps(log_actions)
    def wrapper(self, *args, **kwargs):
        with transaction.atomic():
            logged = log_actions(self, *args, **kwargs)
            for entry in logged if isinstance(logged, list) else [logged]:
                record_admin_log_entry(entry)
        return logged

    wrapper.records_audit_events = True
    return wrapper


def install_bulk_log_hook() -> None:
    if not getattr(LogEntryManager.log_actions, "records_audit_events", False):
        LogEntryManager.log_actions = record_bulk_log_entries(LogEntryManager.log_actions)
