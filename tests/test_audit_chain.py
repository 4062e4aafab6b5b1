"""The hash chain and `verify_audit`: intact, then naming the first event that was tampered with.

Also its checkpoint, kept outside the database: events gone since the last check
(tables emptied past PostgreSQL's TRUNCATE trigger) are named missing.
"""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit.chain import GENESIS_HASH
from audit.models import AuditEvent
from audit.recorder import Verb, record_event
from audit.verification import verify_chain

pytestmark = pytest.mark.django_db

TRIGGER = "accounts_auditevent_append_only"
TABLES = "accounts_auditevent, accounts_auditchainhead"


@pytest.fixture(autouse=True)
def checkpoint(settings, tmp_path):
    """Each test its own checkpoint file (the database starts over in each test)."""
    settings.BATON_AUDIT_CHECKPOINT = str(tmp_path / "audit-checkpoint.json")
    return tmp_path / "audit-checkpoint.json"


@pytest.fixture
def events():
    return [
        record_event(verb=Verb.RUN_TRIGGERED, actor_label="scheduler", details={"n": n})
        for n in range(5)
    ]


def force_truncate() -> None:
    """Empty the audit tables as a DBA could: TRUNCATE where it is allowed (SQLite: DELETE),
    on PostgreSQL past the TRUNCATE and append-only triggers, as the tables' owner."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute("DELETE FROM accounts_auditevent")
            cursor.execute("DELETE FROM accounts_auditchainhead")
            return
        cursor.execute("ALTER TABLE accounts_auditevent DISABLE TRIGGER USER")
        cursor.execute("ALTER TABLE accounts_auditchainhead DISABLE TRIGGER USER")
        cursor.execute(f"TRUNCATE {TABLES}")
        cursor.execute("ALTER TABLE accounts_auditevent ENABLE TRIGGER USER")
        cursor.execute("ALTER TABLE accounts_auditchainhead ENABLE TRIGGER USER")


def tamper(sql: str, params: list) -> None:
    """Raw SQL, as a DBA could run it; on PostgreSQL past the append-only trigger."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE accounts_auditevent DISABLE TRIGGER {TRIGGER}")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE accounts_auditevent ENABLE TRIGGER {TRIGGER}")


def verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def test_it_reports_an_intact_chain_and_saves_a_checkpoint(events, checkpoint):
    total = AuditEvent.objects.count()

    assert verify() == (
        f"{total} events, chain intact (last hash {events[-1].hash}).\n"
        f"Checkpoint saved in {checkpoint} (up to event #{events[-1].pk}).\n"
    )
    [saved] = json.loads(checkpoint.read_text()).values()
    assert saved["count"] == total
    assert saved["last_id"] == events[-1].pk
    assert saved["last_hash"] == events[-1].hash


def test_it_passes_again_with_events_added_since_the_checkpoint(events, checkpoint):
    verify()
    newer = record_event(verb=Verb.RUN_TRIGGERED, actor_label="scheduler")

    assert "chain intact" in verify()
    assert json.loads(checkpoint.read_text()).popitem()[1]["last_id"] == newer.pk


def test_it_names_events_removed_since_the_checkpoint_when_the_tables_are_emptied(events):
    verify()
    total = AuditEvent.objects.count()
    force_truncate()

    with pytest.raises(CommandError) as error:
        verify()

    message = str(error.value)
    assert message.startswith("The audit trail does not match the checkpoint of ")
    assert (
        f"it recorded {total} events up to event #{events[-1].pk}, but the trail now ends "
        f"before it (0 events): events were removed, or the tables emptied."
    ) in message


def test_it_names_the_checkpoint_when_the_chain_restarts_after_emptied_tables(events):
    verify()
    force_truncate()
    record_event(verb=Verb.RUN_TRIGGERED, actor_label="mallory")  # a fresh, valid chain

    assert verify_chain().is_intact  # the chain alone cannot tell
    with pytest.raises(
        CommandError, match=f"event #{events[-1].pk}, the last one it found intact, is missing"
    ):
        verify()


def test_it_names_a_chain_rewritten_up_to_the_checkpoint(events, checkpoint):
    verify()
    entries = json.loads(checkpoint.read_text())
    key = next(iter(entries))
    entries[key]["last_hash"] = "e" * 64  # as if the chain had been re-hashed since
    checkpoint.write_text(json.dumps(entries))

    with pytest.raises(CommandError, match="no longer has the hash it recorded"):
        verify()


def test_it_says_which_checkpoint_file_it_cannot_read(events, checkpoint):
    checkpoint.write_text("not json")

    with pytest.raises(CommandError, match=f"The audit checkpoint {checkpoint} is not valid JSON"):
        verify()


def test_each_event_links_to_the_one_before_it(events):
    chain = list(AuditEvent.objects.order_by("id").values_list("prev_hash", "hash"))

    assert chain[0][0] == GENESIS_HASH
    assert all(prev == before[1] for before, (prev, _) in zip(chain, chain[1:], strict=False))


def test_it_names_an_event_whose_content_was_edited_with_raw_sql(events):
    edited = events[2]
    tamper("UPDATE accounts_auditevent SET details = %s WHERE id = %s", ['{"n": 99}', edited.pk])

    with pytest.raises(CommandError) as error:
        verify()

    when = edited.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert str(error.value).startswith(
        f"Audit event #{edited.pk} ({when}, run.triggered) does not match: its content does "
        f"not match its hash"
    )


def test_it_names_the_event_after_one_that_was_deleted(events):
    tamper("DELETE FROM accounts_auditevent WHERE id = %s", [events[1].pk])

    report = verify_chain()

    assert report.event["id"] == events[2].pk
    assert "does not follow the event before it" in report.problem


def test_it_notices_events_removed_from_the_end(events):
    tamper("DELETE FROM accounts_auditevent WHERE id = %s", [events[-1].pk])

    report = verify_chain()

    assert report.event is None
    assert f"its head record expects event {events[-1].pk}" in report.problem


def test_it_notices_a_forged_hash_from_the_next_event(events):
    forged = events[1]
    tamper(
        "UPDATE accounts_auditevent SET actor_label = %s, hash = %s WHERE id = %s",
        ["mallory", "f" * 64, forged.pk],
    )

    assert verify_chain().event["id"] == forged.pk  # its content no longer gives its hash


def test_it_walks_the_chain_across_batches(events):
    small_batches = verify_chain(batch_size=2)

    assert small_batches.is_intact
    assert small_batches.intact_count == AuditEvent.objects.count()


def test_postgresql_refuses_raw_updates_and_deletes_of_events(postgres, events):
    for sql in ("UPDATE accounts_auditevent SET verb = 'login'", "DELETE FROM accounts_auditevent"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert verify_chain().is_intact


def test_postgresql_refuses_to_truncate_the_audit_tables(postgres, events):
    total = AuditEvent.objects.count()
    for table in ("accounts_auditevent", "accounts_auditchainhead", TABLES):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"TRUNCATE {table}")

    assert AuditEvent.objects.count() == total
    assert verify_chain().is_intact
