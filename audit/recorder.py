"""``record_event``: the one way an audit event is written."""

import ipaddress
import json
from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from accounts.models import ApiToken
from audit.models import AuditEvent
from workflows.models import Workflow
from workflows.parameter_limits import escaped

from .chain import append, append_all
from .context import current_request
from .masking import mask_secrets

Verb = AuditEvent.Verb

SYSTEM = "system"  # sync, commands, anything automatic without a user
SCHEDULER = "scheduler"  # runs started by a schedule


@dataclass(frozen=True)
class ObjectRef:
    """An object described by hand, for one that no longer exists (or never was a model)."""

    type: str  # "app_label.model_name"
    id: str
    label: str


class _DetailsEncoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, set | frozenset):
            return sorted(o, key=str)
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def record_event(
    *,
    verb: str,
    actor=None,
    actor_label: str | None = None,
    obj=None,
    workflow=None,
    details: dict | None = None,
    request=None,
    token: ApiToken | None = None,
) -> AuditEvent:
    """Append one event to the audit trail, inside the caller's transaction.

    - ``verb``: an ``AuditEvent.Verb`` (ValueError for any other string).
    - Who: ``actor`` (a user); else ``actor_label`` (``SCHEDULER``, ``SYSTEM``,
      a login that failed…); else the API token's owner; else the request's
      user; else ``SYSTEM``.
    - ``obj``: the model instance acted on (or an ``ObjectRef``); ``workflow``
      (instance or slug): the workflow the event is about, passed by the caller,
      never guessed from ``obj`` (a workflow itself is passed as both).
    - ``details``: JSON-able values; secrets are masked before storing.
    - ``request`` defaults to the one being served (``AuditRequestMiddleware``):
      its IP address, user agent and API token are recorded.

    Call it last in the action's transaction: it holds the chain lock until
    the commit, and it rolls back with the action.
    """
    return append(
        _new_event(
            verb=verb,
            actor=actor,
            actor_label=actor_label,
            obj=obj,
            workflow=workflow,
            details=details,
            request=request,
            token=token,
        )
    )


def record_events(events: list[dict]) -> list[AuditEvent]:
    """Append several events in one insert, in order; each is ``record_event``'s arguments."""
    return append_all([_new_event(**arguments) for arguments in events])


def _new_event(
    *,
    verb,
    actor=None,
    actor_label=None,
    obj=None,
    workflow=None,
    details=None,
    request=None,
    token=None,
) -> AuditEvent:
    request = request or current_request()
    token = token or _token_of(request)
    if actor is not None and not actor.is_authenticated:
        actor = None  # AnonymousUser passed along as "the user"
    if actor is None and actor_label is None:
        actor = token.user if token else _user_of(request)
    return AuditEvent(
        verb=AuditEvent.Verb(verb).value,
        actor=actor,
        actor_label=(actor.get_username() if actor else actor_label or SYSTEM)[:150],
        token_name=token.name if token else "",
        details=_storable(details),
        **_object_fields(obj, workflow),
        **_request_fields(request),
    )


def _storable(details: dict | None) -> dict:
    """Masked, and exactly as the JSON column will give it back (the hash depends on it)."""
    return json.loads(json.dumps(mask_secrets(details or {}), cls=_DetailsEncoder))


def _object_fields(obj, workflow) -> dict:
    if isinstance(obj, models.Model):
        ref = ObjectRef(obj._meta.label_lower, "" if obj.pk is None else str(obj.pk), str(obj))
    else:
        ref = obj or ObjectRef("", "", "")
    slug = workflow.slug if isinstance(workflow, Workflow) else workflow or ""
    return {
        "object_type": ref.type[:100],
        "object_id": ref.id[:64],
        "object_label": ref.label[:200],
        "workflow_slug": slug[:200],
    }


def workflow_of(obj, depth: int = 3) -> Workflow | None:
    """The workflow a model instance belongs to (a run, a task run, a schedule…), if any.

    For callers that get objects of any kind (the admin log hook); an action
    knows its workflow and passes it to ``record_event`` itself.
    """
    if isinstance(obj, Workflow):
        return obj
    if depth == 0:
        return None
    for attribute in ("workflow", "run", "baton_schedule"):
        try:
            related = getattr(obj, attribute, None)
        except ObjectDoesNotExist:  # e.g. a celery-beat task that is no Baton schedule
            continue
        if isinstance(related, models.Model):
            return workflow_of(related, depth - 1)
    return None


def _request_fields(request) -> dict:
    if request is None:
        return {}
    address = request.META.get("REMOTE_ADDR", "")
    try:
        address = str(ipaddress.ip_address(address))
    except ValueError:
        address = ""
    # Any header text: PostgreSQL would refuse a NUL in it, and with it the audited action.
    user_agent = escaped(request.headers.get("user-agent", ""))[:300]
    return {"ip_address": address, "user_agent": user_agent}


def _token_of(request) -> ApiToken | None:
    """The API token that authenticated ``request`` (set by the API's auth), if any."""
    found = getattr(request, "api_token", None) or getattr(request, "auth", None)
    if isinstance(found, tuple):  # authenticate_token's (user, token)
        found = next((item for item in found if isinstance(item, ApiToken)), None)
    return found if isinstance(found, ApiToken) else None


def _user_of(request):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None
