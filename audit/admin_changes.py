"""Before and after values of the rows an admin request changes.

LogEntry only names the fields a change touched ("Changed Is paused."). During
a request to the admin, a pre_save receiver reads each existing row just
before it is saved and keeps the fields that differ; the LogEntry's event then
carries them: its own object's under "changes", other rows saved by the same
form (a schedule's timing row, inlines) under "related_changes".
"""

from django.db import models

from .context import current_request

CHANGES_ATTRIBUTE = "_baton_audit_admin_changes"
LONGEST_VALUE = 500  # characters of a value kept (a whole JSON schema is noise)


def _admin_request():
    request = current_request()
    match = getattr(request, "resolver_match", None)
    return request if match is not None and match.namespace == "admin" else None


def remember_values_before_admin_save(sender, instance, raw=False, **kwargs):
    """pre_save: during an admin request, keep the fields an existing row is about to change."""
    request = _admin_request()
    if request is None or raw or instance._state.adding or instance.pk is None:
        return
    changes = _changed_fields(sender, instance)
    if changes:
        remembered = request.__dict__.setdefault(CHANGES_ATTRIBUTE, {})
        remembered.setdefault((sender._meta.label_lower, str(instance.pk)), {}).update(changes)


def _changed_fields(model, instance) -> dict:
    fields = [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and not getattr(field, "auto_now", False)
    ]
    stored = model._base_manager.filter(pk=instance.pk).values(*(f.attname for f in fields))
    before = stored.first()
    if before is None:
        return {}
    return {
        field.name: {
            "before": _readable(field, before[field.attname]),
            "after": _readable(field, getattr(instance, field.attname)),
        }
        for field in fields
        if before[field.attname] != getattr(instance, field.attname)
    }


def _readable(field, value):
    """A foreign key as its object's name ("0 3 * * * UTC"), not its id; long text cut."""
    if isinstance(field, models.ForeignKey) and value is not None:
        target = field.related_model._base_manager.filter(pk=value).first()
        value = str(target) if target is not None else value
    if isinstance(value, str) and len(value) > LONGEST_VALUE:
        return value[:LONGEST_VALUE] + "…"
    return value


def remembered_changes(object_type: str, object_id: str) -> dict:
    """The details to add to the event of this object's LogEntry (and forget them)."""
    remembered = getattr(current_request(), CHANGES_ATTRIBUTE, None) or {}
    details = {}
    own = remembered.pop((object_type, object_id), None)
    if own:
        details["changes"] = own
    # Rows of other models saved by the same form; rows of the same model are
    # other objects (several edited from the list) and get their own entries.
    related = {
        f"{kind} {pk}": remembered.pop((kind, pk))
        for kind, pk in list(remembered)
        if kind != object_type
    }
    if related:
        details["related_changes"] = related
    return details
