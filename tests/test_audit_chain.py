"""The hash chain and `verify_audit`: intact, then naming the first event that was tampered with."""

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


@pytest.fixture
def events():
    return [
        record_event(verb=Verb.RUN_TRIGGERED, actor_label="scheduler", details={"n": n})
        for n in range(5)
    ]


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


def test_it_reports_an_intact_chain(events):
    total = AuditEvent.objects.count()

    assert verify() == f"{total} events, chain intact (last hash {events[-1].hash}).\n"


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
