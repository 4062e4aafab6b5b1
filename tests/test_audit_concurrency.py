"""Many writers at once: the chain stays one straight line (appends are serialised)."""

import threading

import pytest
from django.db import connection, transaction

from audit.models import AuditEvent
from audit.recorder import Verb, record_event
from audit.verification import verify_chain

WRITERS = 8
EVENTS_PER_WRITER = 25


def write_concurrently(writers: int = WRITERS, events_each: int = EVENTS_PER_WRITER) -> list:
    """Each thread (its own database connection) appends events, one transaction each."""
    start = threading.Barrier(writers)
    errors = []

    def writer(number: int) -> None:
        try:
            start.wait()
            for index in range(events_each):
                with transaction.atomic():
                    record_event(
                        verb=Verb.RUN_TRIGGERED,
                        actor_label=f"writer-{number}",
                        details={"index": index},
                    )
        except Exception as exc:  # reported to the test below, which fails on it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def assert_one_straight_chain() -> None:
    report = verify_chain()
    assert report.is_intact, report.problem
    links = list(AuditEvent.objects.order_by("id").values_list("prev_hash", "hash"))
    assert all(prev == earlier[1] for earlier, (prev, _) in zip(links, links[1:], strict=False))
    hashes = [link[1] for link in links]
    assert len(set(hashes)) == len(hashes)


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_on_postgresql_keep_one_straight_chain(postgres):
    errors = write_concurrently()

    assert errors == []
    assert AuditEvent.objects.filter(actor_label__startswith="writer-").count() == (
        WRITERS * EVENTS_PER_WRITER
    )
    assert_one_straight_chain()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_on_the_embedded_sqlite_keep_one_straight_chain():
    if connection.vendor != "sqlite":
        pytest.skip("the embedded default's SQLite (IMMEDIATE transactions)")

    errors = write_concurrently(writers=4, events_each=10)

    assert errors == []
    assert AuditEvent.objects.filter(actor_label__startswith="writer-").count() == 40
    assert_one_straight_chain()
