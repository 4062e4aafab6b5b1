"""Object permissions on a workflow changed outside the Access page: one event per permission.

``grant_role`` and ``revoke_role`` record one ``role.*`` event for a whole
role change, and write its guardian rows inside ``without_permission_events()``.
Any other code that adds or removes a guardian object-permission row on a
workflow (the admin's "Object permissions" pages, a shell, a data fix, a user
or group deleted with its rights) is recorded here, from the row's post_save
(``created`` only: ``assign_perm`` is a get_or_create) or post_delete (sent
for each row even by ``remove_perm``'s queryset delete, because receivers are
connected), in the row's transaction: ``permission.granted`` or
``permission.revoked``, on the user or group, for the workflow, with
``{"permission": codename, "user": username}`` (or ``"group": name``) as
details. The actor is the request's user, else "system".

guardian's bulk helpers (``assign_perm`` with several users or groups, or
several workflows) insert with ``bulk_create``, which sends no post_save:
``install_bulk_assign_hook`` wraps them to record the rows they added.
Writes that bypass the ORM's signals altogether (a raw ``bulk_create`` or
``update`` of the rows, SQL) are not recorded.
"""

import functools
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db import router, transaction
from guardian.managers import BaseObjectPermissionManager
from guardian.models import GroupObjectPermission, UserObjectPermission

from audit.models import AuditEvent
from workflows.models import Workflow

from .recorder import ObjectRef, record_event

Verb = AuditEvent.Verb
HOLDER_FIELDS = {UserObjectPermission: "user", GroupObjectPermission: "group"}

_not_recorded = ContextVar("baton_audit_permission_events_off", default=False)


@contextmanager
def without_permission_events():
    """No ``permission.*`` events for the rows written inside: the caller records the change.

    ``grant_role`` / ``revoke_role`` record one ``role.*`` event instead; test
    setup (``accounts.testing.give_role``) records none.
    """
    token = _not_recorded.set(True)
    try:
        yield
    finally:
        _not_recorded.reset(token)


def on_object_permission_saved(sender, instance, created: bool, raw: bool = False, **kwargs):
    """post_save of a user's or group's object permission: only a new row is a grant."""
    if created and not raw:
        record_permission_change(Verb.PERMISSION_GRANTED, instance)


def on_object_permission_deleted(sender, instance, **kwargs):
    """post_delete of a user's or group's object permission."""
    record_permission_change(Verb.PERMISSION_REVOKED, instance)


def record_permission_change(verb: str, row) -> None:
    """Record one permission granted or revoked on a workflow (other objects: nothing)."""
    holder_field = HOLDER_FIELDS.get(type(row))
    if _not_recorded.get() or holder_field is None or row.content_type_id != _workflow_type_id():
        return
    holder = _holder(row, holder_field)
    details = {"permission": row.permission.codename, holder_field: holder.label}
    workflow = Workflow.objects.filter(pk=row.object_pk).first()
    if workflow is None:  # rows left behind by a deleted workflow, being cleaned up
        details["workflow_id"] = row.object_pk
    record_event(verb=verb, obj=holder, workflow=workflow, details=details)


def _workflow_type_id() -> int:
    return ContentType.objects.get_for_model(Workflow).pk  # cached after the first call


def _holder(row, holder_field: str) -> ObjectRef:
    """The user or group, by name (its row may already be gone when its deletion cascades)."""
    related = row._meta.get_field(holder_field).related_model
    holder_id = getattr(row, f"{holder_field}_id")
    try:
        holder = getattr(row, holder_field)
    except ObjectDoesNotExist:
        return ObjectRef(related._meta.label_lower, str(holder_id), f"#{holder_id}")
    return ObjectRef(related._meta.label_lower, str(holder.pk), str(holder))


# --- guardian's bulk assigns ---------------------------------------------------------------------


def _recording_new_rows(assign, scope_of):
    """Wraps a bulk assign: records the rows it added among ``scope_of(...)``'s rows."""

    @functools.wraps(assign)
    def wrapper(self, *args, **kwargs):
        scope = scope_of(self, *args, **kwargs)
        if scope is None or _not_recorded.get() or self.model not in HOLDER_FIELDS:
            return assign(self, *args, **kwargs)
        rows = self.filter(content_type_id=_workflow_type_id(), **scope)
        with transaction.atomic(using=router.db_for_write(self.model)):
            before = set(rows.values_list("pk", flat=True))
            result = assign(self, *args, **kwargs)
            added = rows.exclude(pk__in=before).select_related("permission")
            for row in added.order_by("pk"):
                record_permission_change(Verb.PERMISSION_GRANTED, row)
        return result

    wrapper.records_audit_events = True
    return wrapper


def _scope_of_bulk_assign_perm(manager, perm, user_or_group, queryset, *args, **kwargs):
    """One user or group, several objects: that holder's rows on workflows."""
    if isinstance(queryset, list):
        model = type(queryset[0]) if queryset else None
    else:
        model = queryset.model
    if model is None or not issubclass(model, Workflow):
        return None
    return {manager.user_or_group_field: user_or_group}


def _scope_of_assign_perm_to_many(manager, perm, users_or_groups, obj, *args, **kwargs):
    """Several users or groups, one object: the rows on that workflow."""
    return {"object_pk": str(obj.pk)} if isinstance(obj, Workflow) else None


def install_bulk_assign_hook() -> None:
    """Wrap guardian's ``bulk_assign_perm`` and ``assign_perm_to_many`` (once)."""
    for name, scope_of in (
        ("bulk_assign_perm", _scope_of_bulk_assign_perm),
        ("assign_perm_to_many", _scope_of_assign_perm_to_many),
    ):
        method = getattr(BaseObjectPermissionManager, name)
        if not getattr(method, "records_audit_events", False):
            setattr(BaseObjectPermissionManager, name, _recording_new_rows(method, scope_of))
