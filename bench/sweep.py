"""The scheduler's recovery sweep with many big runs in progress: what one pass costs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton python bench/sweep.py

It uses a throwaway database (``baton_bench_sweep``), seeds N running runs of M task runs
each (a few running with fresh heartbeats, a few queued, the rest pending: a big run in
progress, as the sweep meets it every tick), and prints one sweep pass, median and p95,
whole and for each of its parts. Nothing is stalled or lost, so the sweep repairs
nothing: this is the price every tick pays (target ≤ 50 ms for 100 runs of 1,000 tasks,
as a schedule edit may stall a tick).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET_MS = 50
DATABASE = "baton_bench_sweep"


def configure_database() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("bench: set DATABASE_URL to a PostgreSQL database on this machine")
    import psycopg

    base, _, _ = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    os.environ["DATABASE_URL"] = f"{base}/{DATABASE}"


def seed(runs: int, tasks: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from runs.models import TaskRun, WorkflowRun
    from runs.states import RunState, TaskState
    from workflows.models import Workflow

    workflow = Workflow.objects.get(slug="sales_report")
    now = timezone.now()
    started = WorkflowRun.objects.bulk_create(
        WorkflowRun(workflow=workflow, number=n + 1, state=RunState.RUNNING, started_at=now)
        for n in range(runs)
    )

    def state_of(index: int) -> dict:
        if index < 4:
            return {"state": TaskState.RUNNING, "heartbeat_at": now, "worker": "bench:1"}
        if index < 8:
            return {"state": TaskState.QUEUED, "queued_at": now}
        return {"state": TaskState.PENDING}

    for run in started:
        TaskRun.objects.bulk_create(
            TaskRun(run=run, task_name=f"t{i}", position=i, **state_of(i)) for i in range(tasks)
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have, in a running system


def measure(passes: int) -> None:
    from django.utils import timezone

    from runs import recovery

    parts = {
        name: getattr(recovery, name)
        for name in (
            "send_due_retries",
            "resend_stale_queued",
            "resend_overdue_checks",
            "resume_stalled_runs",
            "fail_overdue_runs",
            "start_waiting",
            "notify_slow_runs",
        )
    }
    timings: dict[str, list[float]] = {"whole sweep": []}
    for _ in range(passes):
        began = time.perf_counter()
        done = recovery.sweep(timezone.now())
        timings["whole sweep"].append((time.perf_counter() - began) * 1000)
        assert not any(done.values()), f"the sweep repaired something: {done}"
        for name, part in parts.items():
            began = time.perf_counter()
            part(timezone.now())
            timings.setdefault(name, []).append((time.perf_counter() - began) * 1000)
    for name, values in timings.items():
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        target = f"   (target ≤ {TARGET_MS} ms)" if name == "whole sweep" else ""
        print(f"{name:28} {statistics.median(values):7.1f} ms median, {p95:7.1f} ms p95{target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--passes", type=int, default=20)
    options = parser.parse_args()
    configure_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("sync_workflows", verbosity=0)
    seed(options.runs, options.tasks)
    print(f"Recovery sweep on PostgreSQL, {options.runs} running runs × {options.tasks} tasks")
    measure(options.passes)


if __name__ == "__main__":
    main()
