"""Walking the audit chain to find the first event that does not match, or what went missing."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from audit.models import AuditChainHead, AuditEvent

from .chain import GENESIS_HASH, HASHED_FIELDS, HEAD_ID, event_hash
from .checkpoint import Checkpoint

COLUMNS = ("id", *HASHED_FIELDS, "prev_hash", "hash")


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` found: how many events are intact, and the first problem."""

    intact_count: int
    last_hash: str
    problem: str = ""  # empty when the chain is intact
    event: dict | None = None  # the first event that does not match (id, created_at, verb…)
    last_id: int | None = None  # of the last intact event
    checkpoint_broken: bool = False  # the chain holds, but not what the checkpoint saw

    @property
    def is_intact(self) -> bool:
        return not self.problem


def verify_chain(*, batch_size: int = 5000, checkpoint: Checkpoint | None = None) -> ChainReport:
    """Recompute every hash in id order; stops at the first event that does not match.

    With a ``checkpoint`` (what an earlier check found intact), its last event
    must be there, with its hash, after as many events: a chain emptied or cut
    short since, however well re-linked, does not pass.

    Reads in keyset batches of ``batch_size`` (constant memory, no server-side
    cursor), so it walks millions of events.
    """
    expected_prev, count, last_id = GENESIS_HASH, 0, None
    pending = checkpoint  # until the walk reaches its last event
    for row in _events_in_chain_order(batch_size):
        problem = _problem_with(row, expected_prev)
        if problem:
            return ChainReport(count, expected_prev, problem, row, last_id)
        expected_prev, count, last_id = row["hash"], count + 1, row["id"]
        if pending and row["id"] >= pending.last_id:
            problem = _problem_with_checkpoint(row, count, pending)
            if problem:
                return ChainReport(count, expected_prev, problem, row, last_id, True)
            pending = None
    if pending:
        problem = _(
            "it recorded %(count)s events up to event #%(id)s, but the trail now ends before "
            "it (%(now)s events): events were removed, or the tables emptied"
        ) % {"count": pending.count, "id": pending.last_id, "now": count}
        return ChainReport(count, expected_prev, problem, None, last_id, checkpoint_broken=True)
    problem = _problem_with_end(last_id, expected_prev, count)
    return ChainReport(count, expected_prev, problem, None, last_id)


def _events_in_chain_order(batch_size: int):
    after = 0
    while True:
        batch = list(
            AuditEvent.objects.filter(id__gt=after).order_by("id").values(*COLUMNS)[:batch_size]
        )
        yield from batch
        if len(batch) < batch_size:
            return
        after = batch[-1]["id"]


def _problem_with(row: dict, expected_prev: str) -> str:
    if row["prev_hash"] != expected_prev:
        return _(
            "it does not follow the event before it: an event was removed, inserted "
            "or changed before it"
        )
    if event_hash(row, row["prev_hash"]) != row["hash"]:
        return _("its content does not match its hash: it was changed after it was written")
    return ""


def _problem_with_checkpoint(row: dict, count: int, checkpoint: Checkpoint) -> str:
    if row["id"] > checkpoint.last_id:
        return _(
            "event #%(id)s, the last one it found intact, is missing: events were removed "
            "and the chain re-linked"
        ) % {"id": checkpoint.last_id}
    if row["hash"] != checkpoint.last_hash:
        return _(
            "event #%(id)s no longer has the hash it recorded: the chain was rewritten up to it"
        ) % {"id": checkpoint.last_id}
    if count != checkpoint.count:
        return _(
            "%(count)s events lead to event #%(id)s, it counted %(expected)s: events before it "
            "were removed or inserted"
        ) % {"count": count, "id": checkpoint.last_id, "expected": checkpoint.count}
    return ""


def _problem_with_end(last_id: int | None, last_hash: str, count: int) -> str:
    head = AuditChainHead.objects.filter(pk=HEAD_ID).first()
    if head is None:
        return _("the chain head record is missing") if count else ""
    if head.last_event_id != last_id or head.last_hash != last_hash:
        return _(
            "the chain ends at event %(found)s but its head record expects event %(expected)s: "
            "events were removed from, or added to, its end"
        ) % {"found": last_id, "expected": head.last_event_id}
    return ""
