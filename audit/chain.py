"""The hash chain: each event's hash covers its content and the previous event's hash.

Appends are serialised by locking the one ``AuditChainHead`` row until the
recording transaction ends (PostgreSQL: ``SELECT … FOR UPDATE``; SQLite's
IMMEDIATE transactions already let one writer at a time). So however many web
processes, workers and schedulers write, every event's ``prev_hash`` is the
hash of the event committed just before it, in id order.
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64  # the prev_hash of the first event
HEAD_ID = 1
# Bump when the hashed content changes, so old and new events stay verifiable.
HASH_VERSION = 1
HASHED_FIELDS = (
    "created_at",
    "actor_id",
    "actor_label",
    "token_name",
    "verb",
    "object_type",
    "object_id",
    "object_label",
    "workflow_slug",
    "details",
    "ip_address",
    "user_agent",
)


def canonical_json(value) -> bytes:
    """One byte string per JSON value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(fields: Mapping, prev_hash: str) -> str:
    """The hex SHA-256 of an event's ``HASHED_FIELDS`` (a mapping) and ``prev_hash``."""
    content = {name: fields[name] for name in HASHED_FIELDS}
    content["created_at"] = content["created_at"].astimezone(UTC).isoformat()
    content["prev_hash"] = prev_hash
    content["v"] = HASH_VERSION
    return hashlib.sha256(canonical_json(content)).hexdigest()


def hashed_fields_of(event: AuditEvent) -> dict:
    return {name: getattr(event, name) for name in HASHED_FIELDS}


def _locked_head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=HEAD_ID).first()
    if head is not None:
        return head
    # First event ever, or after a test flush: start (or resume) the chain.
    last = AuditEvent.objects.order_by("-id").values("id", "hash").first()
    try:
        with transaction.atomic():
            AuditChainHead.objects.create(
                pk=HEAD_ID,
                last_event_id=last["id"] if last else None,
                last_hash=last["hash"] if last else GENESIS_HASH,
            )
    except IntegrityError:
        pass  # a concurrent writer created it first; lock theirs
    return AuditChainHead.objects.select_for_update().get(pk=HEAD_ID)


def append(event: AuditEvent) -> AuditEvent:
    """Chain ``event`` (unsaved) to the last one and insert it; returns it saved.

    Joins the caller's transaction, and keeps the chain head locked until it
    ends: record last in a transaction, so that others wait the least.
    """
    return append_all([event])[0]


def append_all(events: list[AuditEvent]) -> list[AuditEvent]:
    """Chain ``events`` (unsaved), in their order, and insert them in one statement."""
    if not events:
        return events
    with transaction.atomic():
        head = _locked_head()
        prev_hash = head.last_hash
        for event in events:
            # Stamped under the lock, so that time order and chain order agree.
            event.created_at = timezone.now()
            event.prev_hash = prev_hash
            event.hash = prev_hash = event_hash(hashed_fields_of(event), prev_hash)
        AuditEvent.objects.bulk_create(events)
        AuditChainHead.objects.filter(pk=HEAD_ID).update(
            last_event_id=events[-1].pk, last_hash=events[-1].hash
        )
    return events
