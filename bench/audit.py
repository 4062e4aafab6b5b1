"""Audit trail benchmark: the audit page and the CSV export over 1,000,000 events.

    python bench/audit.py                     # SQLite file in a temporary folder
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton_bench python bench/audit.py

On PostgreSQL it creates the database named in DATABASE_URL (dropping it first:
the name must contain "bench") and drops it at the end (``--keep`` keeps it).
It migrates, seeds ``--events`` events with a valid hash chain computed here
and inserted in bulk (COPY on PostgreSQL), then prints:

- the audit page's server time (median of ``--requests`` requests through
  Django's test client, as a superuser): first page, a deep page, and pages
  filtered by workflow, actor, action, dates and text in details;
- the CSV export's throughput (rows/s) for the whole trail and a filtered set;
- ``verify_audit``'s throughput.
"""

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE_TARGET_MS = 200

VERBS = [  # (verb, weight): mostly runs and logins, as in a real trail
    ("run.triggered", 40),
    ("task.retried", 10),
    ("task.marked", 5),
    ("run.cancelled", 5),
    ("login", 30),
    ("logout", 8),
    ("login.failed", 1),
    ("admin.changed", 1),
]


@cache
def seeded_columns() -> tuple[str, ...]:
    """The hashed fields of the chain, then the two hashes (imported once Django is set up)."""
    from audit.chain import HASHED_FIELDS

    return (*HASHED_FIELDS, "prev_hash", "hash")


def main() -> None:
    options = _arguments()
    if not os.environ.get("DATABASE_URL"):
        folder = Path(tempfile.mkdtemp(prefix="baton-audit-bench-"))
        os.environ["BATON_SQLITE_PATH"] = str(folder / "bench.sqlite3")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment(debug=False)  # the test client's host; no query log
    _create_database()
    try:
        _run(options)
    finally:
        if not options.keep:
            _drop_database()


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to seed")
    parser.add_argument("--requests", type=int, default=7, help="requests per page measured")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    return parser.parse_args()


def _run(options) -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    targets = seed(options.events)
    seeded_in = time.perf_counter() - started
    print(
        f"Baton audit bench: {connection.vendor}, {options.events:,} events "
        f"seeded in {seeded_in:.0f} s\n"
    )
    client = _superuser_client()
    title = f"audit page (median of {options.requests})"
    print(f"{title:46} {'ms':>8}")
    for label, query in _page_queries(targets):
        print(f"  {label:44} {median_ms(client, query, options.requests):>8.1f}")
    print(f"\n{'CSV export':46} {'rows/s':>8}")
    for label, query in (("whole trail", {}), ("one workflow", {"workflow": targets["workflow"]})):
        rows, seconds = export(client, query)
        print(f"  {label + f' ({rows:,} rows)':44} {rows / seconds:>8,.0f}")
    print(f"\n{'verify_audit':46} {'events/s':>8}")
    count, seconds = verify()
    print(f"  {f'{count:,} events in {seconds:.1f} s':44} {count / seconds:>8,.0f}")
    print(f"\nTarget: every page ≤ {PAGE_TARGET_MS} ms.")


# --- database ---------------------------------------------------------------------------------


def _create_database() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    name = connection.settings_dict["NAME"]
    if "bench" not in name:
        sys.exit(f"Refusing to drop and create '{name}': the database name must contain 'bench'.")
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')


def _drop_database() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        Path(connection.settings_dict["NAME"]).unlink(missing_ok=True)
        return
    name = connection.settings_dict["NAME"]
    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


# --- seeding ------------------------------------------------------------------------------------


def seed(count: int) -> dict:
    """Insert ``count`` chained events after those migrate recorded; returns filter values."""
    from django.db import connection, transaction

    from audit.models import AuditChainHead, AuditEvent

    random.seed(8)
    head = AuditChainHead.objects.get(pk=1)
    with transaction.atomic():
        last_hash = insert_rows(generate_rows(count, head.last_hash))
        last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
        AuditChainHead.objects.filter(pk=1).update(last_event_id=last_id, last_hash=last_hash)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE accounts_auditevent")
    middle = AuditEvent.objects.filter(id__lte=last_id - count // 2).order_by("-id").first()
    oldest = AuditEvent.objects.order_by("created_at").first()
    return {
        "workflow": "workflow-7",
        "actor": "user-42",
        "middle_id": middle.pk,
        "middle_day": middle.created_at.date(),
        "first_day": oldest.created_at.date() + timedelta(days=1),
    }


def generate_rows(count: int, prev_hash: str):
    """``count`` event rows over the last year, oldest first, each chained to the one before."""
    from audit.chain import event_hash

    verbs, weights = zip(*VERBS, strict=True)
    start = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365) / count
    for index in range(count):
        verb = random.choices(verbs, weights)[0]
        row = _event_fields(index, verb, start + step * index)
        row["prev_hash"] = prev_hash
        row["hash"] = prev_hash = event_hash(row, prev_hash)
        yield row


def _event_fields(index: int, verb: str, when: datetime) -> dict:
    workflow = f"workflow-{random.randrange(100)}"
    user = f"user-{random.randrange(200)}"
    run_like = verb.startswith(("run.", "task."))
    parameters = {"region": random.choice(["north", "south", "east", "west"]), "day": index % 28}
    if index % 10_000 == 0:
        parameters["note"] = "quarterly-close"  # a rare value to search for
    return {
        "created_at": when,
        "actor_id": None,
        "actor_label": "scheduler" if verb == "run.triggered" and index % 3 == 0 else user,
        "token_name": "ci" if index % 7 == 0 else "",
        "verb": verb,
        "object_type": "runs.workflowrun" if run_like else "auth.user",
        "object_id": str(index),
        "object_label": f"{workflow} #{index}" if run_like else user,
        "workflow_slug": workflow if run_like else "",
        "details": {"parameters": parameters} if run_like else {"method": "password"},
        "ip_address": f"10.0.{index % 250}.{index % 200}",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
    }


def insert_rows(rows) -> str:
    """Bulk-insert rows (COPY on PostgreSQL, batched INSERTs on SQLite); returns the last hash."""
    from django.db import connection

    last_hash = ""
    if connection.vendor == "postgresql":
        columns = ", ".join(seeded_columns())
        copy_sql = f"COPY accounts_auditevent ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(_db_values(row))
                last_hash = row["hash"]
        return last_hash
    columns = seeded_columns()
    sql = (
        f"INSERT INTO accounts_auditevent ({', '.join(columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    batch = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(_db_values(row))
            last_hash = row["hash"]
            if len(batch) == 10_000:
                cursor.executemany(sql, batch)
                batch = []
        cursor.executemany(sql, batch)
    return last_hash


def _db_values(row: dict) -> list:
    from django.db import connection

    columns = seeded_columns()
    values = [row[column] for column in columns]
    values[columns.index("details")] = json.dumps(row["details"])
    # As Django writes it (SQLite: naive UTC text), so that date filters compare alike.
    values[0] = connection.ops.adapt_datetimefield_value(row["created_at"])
    return values


# --- measuring ----------------------------------------------------------------------------------


def _superuser_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_superuser("bench", password=None)
    client = Client()
    client.force_login(user)
    return client


def _week(day) -> dict:
    return {"since": day.isoformat(), "until": (day + timedelta(days=6)).isoformat()}


def _page_queries(targets: dict) -> list[tuple[str, dict]]:
    return [
        ("first page", {}),
        ("deep page (before the middle id)", {"before": targets["middle_id"]}),
        ("workflow filter (History)", {"workflow": targets["workflow"]}),
        ("actor filter", {"actor": targets["actor"]}),
        ("action filter (rare: login.failed)", {"verb": "login.failed"}),
        ("one week, half a year ago", _week(targets["middle_day"])),
        ("one week, a year ago (the oldest)", _week(targets["first_day"])),
        ("search in details (common: south)", {"q": "south"}),
        ("search in details (rare: 1 in 10,000)", {"q": "quarterly-close"}),
    ]


def median_ms(client, query: dict, requests: int) -> float:
    """Median wall time of GET /audit/?query, after one request to warm caches."""
    from django.urls import reverse

    url = reverse("audit:audit")
    assert client.get(url, query).status_code == 200
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, query)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return statistics.median(timings)


def export(client, query: dict) -> tuple[int, float]:
    """Rows and seconds of one streamed CSV export (the whole body is read)."""
    from django.urls import reverse

    started = time.perf_counter()
    response = client.get(reverse("audit:audit_export"), query)
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    return lines - 1, time.perf_counter() - started


def verify() -> tuple[int, float]:
    from audit.verification import verify_chain

    started = time.perf_counter()
    report = verify_chain()
    assert report.is_intact, report.problem
    return report.intact_count, time.perf_counter() - started


if __name__ == "__main__":
    main()
