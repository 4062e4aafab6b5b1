"""/metrics benchmark: the time to answer a scrape on a large history.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton python bench/metrics.py
                                        # database "baton_bench_metrics" on that server
    python bench/metrics.py             # SQLite file var/bench_metrics.sqlite3

Seeds (once; ``--reseed`` starts over) 1,000 workflows of 4 tasks with 50,000 runs
and 200,000 task runs (bulk_create; one run in 23 failed, its failed task retried
once, so with a TaskAttempt), a third of the runs scheduled (with their slot), 50,000
audit events, 12 workers and 2 schedulers heart-beating. Then it prints the median
time of a scrape of ``/metrics`` with the token (Django's test Client: no network),
over ``--requests`` scrapes, beside the target (≤ 100 ms), and the size of the answer.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 100
TASKS = ("extract", "transform", "load", "report")
TOKEN = "bench-metrics-token"
DATABASE = "baton_bench_metrics"


def main() -> None:
    options = _arguments()
    sys.path.insert(0, str(ROOT))
    if not os.environ.get("DATABASE_URL"):
        os.environ["BATON_SQLITE_PATH"] = str(ROOT / "var" / "bench_metrics.sqlite3")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 50)
    os.environ["BATON_METRICS_TOKEN"] = TOKEN
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    _use_bench_database()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from workflows.models import Workflow

    if options.reseed or not Workflow.objects.filter(slug__startswith="bench_").exists():
        started = time.perf_counter()
        _seed(options.workflows, options.task_runs)
        print(f"Seeded in {time.perf_counter() - started:.0f} s.")
    Workflow.objects.filter(slug__startswith="bench_").update(is_active=True)  # migrate's sync
    _measure(options.requests)


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workflows", type=int, default=1000)
    parser.add_argument("--task-runs", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=15, help="timed scrapes")
    parser.add_argument("--reseed", action="store_true", help="empty the bench data and seed again")
    return parser.parse_args()


def _use_bench_database() -> None:
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        return
    connection.settings_dict["NAME"] = "postgres"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE DATABASE {DATABASE}")
    connection.close()
    connections["default"].settings_dict["NAME"] = DATABASE


# --- Seeding ----------------------------------------------------------------------------------


def _seed(workflow_count: int, task_run_count: int) -> None:
    from django.db import connection, transaction

    from workflows.models import Workflow

    with transaction.atomic():
        _empty()
        workflows = Workflow.objects.bulk_create(
            Workflow(slug=f"bench_{n:04d}", title=f"Bench {n:04d}", is_paused=n % 17 == 0)
            for n in range(1, workflow_count + 1)
        )
        runs = _seed_runs(workflows, task_run_count // len(TASKS))
        _seed_task_runs(runs)
        _seed_audit(len(runs))
        _seed_processes()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # as a database that has lived a while


def _empty() -> None:
    from audit.models import AuditEvent
    from runs.models import ProcessHeartbeat, WorkflowRun
    from workflows.models import Workflow

    bench = Workflow.objects.filter(slug__startswith="bench_")
    WorkflowRun.objects.filter(workflow__in=bench).delete()
    bench.delete()
    ProcessHeartbeat.objects.filter(hostname__startswith="bench-").delete()
    from django.db import connection

    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:  # the trail refuses deletes; the bench's own go
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(f"DELETE FROM {table} WHERE actor_label = 'bench'")
        if connection.vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


def _seed_runs(workflows, run_count: int) -> list:
    from django.utils import timezone

    from runs.models import WorkflowRun

    now = timezone.now()
    runs = []
    for index in range(run_count):
        workflow = workflows[index % len(workflows)]
        last_round = index >= run_count - len(workflows)
        state = "running" if last_round and index % 50 == 0 else "success"
        state = "failed" if index % 23 == 0 and state == "success" else state
        created = now - timedelta(minutes=(run_count - index) * 3)
        started = created + timedelta(seconds=index % 7)
        scheduled = index % 3 == 0
        runs.append(
            WorkflowRun(
                workflow=workflow,
                number=index // len(workflows) + 1,
                state=state,
                trigger="schedule" if scheduled else "manual",
                logical_date=created - timedelta(seconds=(index % 20) / 10) if scheduled else None,
                created_at=created,
                started_at=started,
                finished_at=None
                if state == "running"
                else started + timedelta(seconds=40 + index % 300),
            )
        )
    return WorkflowRun.objects.bulk_create(runs, batch_size=5000)


def _seed_task_runs(runs) -> None:
    from runs.models import TaskAttempt, TaskRun

    task_runs = []
    for run in runs:
        for position, name in enumerate(TASKS):
            start = run.started_at + timedelta(seconds=10 * position)
            failing = run.state == "failed" and position == 1
            if run.state == "running" and position >= 2:
                state, attempt = ("running", 1) if position == 2 else ("queued", 0)
                finished = None
            elif run.state == "failed" and position > 1:
                state, attempt, finished = "upstream_failed", 0, None
            else:
                state = "failed" if failing else "success"
                attempt = 2 if failing else 1
                finished = start + timedelta(seconds=1 + (run.pk * 7 + position) % 40)
            task_runs.append(
                TaskRun(
                    run=run,
                    task_name=name,
                    position=position,
                    state=state,
                    attempt=attempt,
                    max_attempts=2,
                    queue="default" if position % 2 else "heavy",
                    started_at=start if attempt else None,
                    finished_at=finished,
                    queued_at=start - timedelta(seconds=1),
                )
            )
    task_runs = TaskRun.objects.bulk_create(task_runs, batch_size=5000)
    TaskAttempt.objects.bulk_create(
        (
            TaskAttempt(
                task_run=task_run,
                number=number,
                state="failed",
                started_at=task_run.started_at,
                finished_at=task_run.finished_at,
                error="boom",
            )
            for task_run in task_runs
            if task_run.state == "failed"
            for number in (1, 2)
        ),
        batch_size=5000,
    )


def _seed_audit(count: int) -> None:
    from django.utils import timezone

    from audit.models import AuditEvent

    verbs = ("run.triggered", "run.cancelled", "task.retried", "login")
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        (
            AuditEvent(
                created_at=now,
                actor_label="bench",
                verb=verbs[n % 4],
                hash=f"{n:064x}",
                prev_hash=f"{n - 1:064x}" if n else "",
            )
            for n in range(count)
        ),
        batch_size=5000,
    )


def _seed_processes() -> None:
    from django.utils import timezone

    from runs.models import ProcessHeartbeat

    now, queues = timezone.now(), ["default", "heavy"]
    worker = {"kind": "worker", "queues": queues, "seen_at": now}
    leader = {"kind": "scheduler", "hostname": "bench-s", "is_leader": True, "seen_at": now}
    ProcessHeartbeat.objects.bulk_create(
        [ProcessHeartbeat(hostname=f"bench-{n}", pid=n, **worker) for n in range(12)]
        + [
            ProcessHeartbeat(pid=1, **leader),
            ProcessHeartbeat(kind="scheduler", hostname="bench-s", pid=2, seen_at=now),
        ]
    )


# --- Measuring --------------------------------------------------------------------------------


def _measure(requests: int) -> None:
    from django.db import connection
    from django.test import Client, override_settings

    from runs.models import TaskRun

    client = Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    print(f"database: {connection.vendor}; task runs: {TaskRun.objects.count():,}")
    with override_settings(BATON_METRICS_MAX_AGE=0):  # every scrape computes: the snapshot's cost
        computed, text = _scrapes(client, max(3, requests // 5))
    lines = text.count(b"\n")
    print(f"answer: {len(text) / 1024:.0f} KiB, {lines:,} lines")
    print(f"computing the series (each scrape waits): median {computed:.0f} ms")
    gzipped = Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}", HTTP_ACCEPT_ENCODING="gzip")
    served, packed = _scrapes(gzipped, requests)  # the default: from the shared snapshot
    verdict = "OK" if served <= TARGET_MS else "OVER"
    print(
        f"/metrics scrape (shared snapshot, gzip {len(packed) / 1024:.0f} KiB), median of "
        f"{requests}: {served:.1f} ms   target <= {TARGET_MS} ms  {verdict}"
    )


def _scrapes(client, count: int) -> tuple[float, bytes]:
    client.get("/metrics")  # the first one may build the snapshot
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get("/metrics")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:500]
    return statistics.median(timings), response.content


if __name__ == "__main__":
    main()
