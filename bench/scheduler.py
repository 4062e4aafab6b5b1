"""Scheduler benchmark: one tick with 10,000 enabled schedules, and how late scheduled runs start.

    python bench/scheduler.py                       # SQLite file under var/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton python bench/scheduler.py

It uses a throwaway database (``baton_bench_scheduler``, or var/bench-scheduler.sqlite3),
seeds N workflows' schedules (cron, in several timezones) plus a few one-second
interval schedules, and prints:

- the first tick (loads every schedule and computes its next slot),
- a steady tick (nothing changed, nothing due): median and p95,
- a tick after one schedule changed (django-celery-beat's marker makes it reload),
- lateness of scheduled runs (run created − slot time) while the real loop runs
  for a few seconds: median and p95.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def configure_database() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        base, _, _ = url.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS baton_bench_scheduler WITH (FORCE)")
            conn.execute("CREATE DATABASE baton_bench_scheduler")
        os.environ["DATABASE_URL"] = f"{base}/baton_bench_scheduler"
        return "PostgreSQL"
    path = ROOT / "var" / "bench-scheduler.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ["BATON_SQLITE_PATH"] = str(path)
    return "SQLite"


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def seed(count: int):
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    from workflows.models import Workflow, WorkflowSchedule
    from workflows.schedules import BATON_TASK

    target = Workflow.objects.get(slug="sales_report")
    zones = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo"]
    crons = [
        CrontabSchedule.objects.create(
            minute=str(m % 60), hour=str(h % 24), timezone=zones[(m + h) % len(zones)]
        )
        for m, h in zip(range(0, 200, 7), range(0, 200, 5), strict=False)
    ]
    tasks = PeriodicTask.objects.bulk_create(
        PeriodicTask(name=f"bench {n}", task=BATON_TASK, crontab=crons[n % len(crons)])
        for n in range(count)
    )
    WorkflowSchedule.objects.bulk_create(
        WorkflowSchedule(periodic_task=t, workflow=target) for t in tasks
    )
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    return every_second


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def measure_ticks(scheduler) -> None:
    from django_celery_beat.models import PeriodicTask

    print(f"first tick (load + next slots): {timed(scheduler.tick):8.1f} ms")
    steady = [timed(scheduler.tick) for _ in range(20)]
    print(
        f"steady tick:                    {statistics.median(steady):8.1f} ms median, "
        f"{percentile(steady, 0.95):.1f} ms p95"
    )
    task = PeriodicTask.objects.filter(name="bench 0").get()
    task.enabled = not task.enabled
    task.save()  # bumps django-celery-beat's change marker
    print(f"tick after a schedule changed:  {timed(scheduler.tick):8.1f} ms")


def measure_lateness(every_second, seconds: float) -> None:
    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    from runs.models import WorkflowRun
    from runs.scheduler import Scheduler
    from workflows.models import Workflow, WorkflowSchedule
    from workflows.schedules import BATON_TASK

    start = timezone.now()
    for n, slug in enumerate(["sales_report", "backup_files", "flaky_import"]):
        task = PeriodicTask.objects.create(
            name=f"every second {n}", task=BATON_TASK, interval=every_second, start_time=start
        )
        WorkflowSchedule.objects.create(
            periodic_task=task, workflow=Workflow.objects.get(slug=slug)
        )
    Workflow.objects.update(max_active_runs=10_000)
    stop = threading.Event()
    thread = threading.Thread(target=Scheduler().run, args=(stop,))
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join()
    lateness = [
        (created - logical).total_seconds() * 1000
        for created, logical in WorkflowRun.objects.filter(trigger="schedule").values_list(
            "created_at", "logical_date"
        )
    ]
    if not lateness:
        print("lateness: no scheduled run started")
        return
    print(
        f"lateness of {len(lateness)} scheduled runs: {statistics.median(lateness):.0f} ms median, "
        f"{percentile(lateness, 0.95):.0f} ms p95"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="Lateness measurement time.")
    args = parser.parse_args()

    database = configure_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    from runs.scheduler import Scheduler

    call_command("migrate", verbosity=0)
    every_second = seed(args.schedules)
    print(f"Scheduler on {database}, {args.schedules:,} enabled schedules")
    measure_ticks(Scheduler())
    measure_lateness(every_second, args.seconds)


if __name__ == "__main__":
    main()
