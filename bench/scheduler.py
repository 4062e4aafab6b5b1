"""Scheduler benchmark: one tick with 50,000 enabled schedules, and how late scheduled runs start.

    python bench/scheduler.py                       # SQLite file under var/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton python bench/scheduler.py

It uses a throwaway database (``baton_bench_scheduler``, or var/bench-scheduler.sqlite3),
seeds N workflows' schedules (cron, in several timezones; created a day ago and run up to
now, as in a running system) plus a few one-second interval schedules, and prints:

- loading every schedule (target ≤ 1 s for 50,000) and the first tick,
- a steady tick (nothing changed, nothing due): median and p95,
- the stall of a tick after one schedule was edited, after one was deleted (only the
  changed ones are read again; target ≤ 50 ms over a steady tick), and the reload alone,
- lateness of scheduled runs (run created − slot time) while the real loop runs
  for a few seconds: median and p95.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from datetime import timedelta
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
    from django.db import connection
    from django.utils import timezone
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
    now = timezone.now()
    tasks = PeriodicTask.objects.bulk_create(
        PeriodicTask(
            name=f"bench {n}", task=BATON_TASK, crontab=crons[n % len(crons)], last_run_at=now
        )
        for n in range(count)
    )
    # Schedules running for a while: created (and last edited) a day ago, run up to now.
    PeriodicTask.objects.update(date_changed=now - timedelta(days=1))
    WorkflowSchedule.objects.bulk_create(
        WorkflowSchedule(periodic_task=t, workflow=target) for t in tasks
    )
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    # Statistics as a running system has them (autovacuum analyses a table that grew): right
    # after a bulk insert, PostgreSQL plans the membership check as 50,000 index probes.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return every_second


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def measure_ticks(scheduler, count: int) -> None:
    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    from runs.schedule_book import ScheduleBook

    load = timed(lambda: ScheduleBook().load(timezone.now()))
    print(f"load of {count:,} schedules:      {load:8.1f} ms   (target ≤ 1000 ms)")
    print(f"first tick (load + next slots): {timed(scheduler.tick):8.1f} ms")
    steady = [timed(scheduler.tick) for _ in range(20)]
    median = statistics.median(steady)
    print(
        f"steady tick:                    {median:8.1f} ms median, "
        f"{percentile(steady, 0.95):.1f} ms p95"
    )
    for label, change in (("edited", _edit_one), ("deleted", _delete_one)):
        stalls, reloads = [], []
        for n in range(5):
            change(PeriodicTask.objects.get(name=f"bench {n}"))  # bumps the change marker
            stalls.append(timed(scheduler.tick) - median)
            change(PeriodicTask.objects.get(name=f"bench {n + 100}"))
            reloads.append(timed(lambda: scheduler.book.reload_if_changed(timezone.now())))
        print(
            f"tick stall, one schedule {label + ':':8} {statistics.median(stalls):8.1f} ms median "
            f"over a steady tick (target ≤ 50 ms); the reload alone "
            f"{statistics.median(reloads):.1f} ms"
        )


def _edit_one(task) -> None:
    task.enabled = not task.enabled
    task.save()


def _delete_one(task) -> None:
    task.delete()


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
    parser.add_argument("--schedules", type=int, default=50_000)
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
    measure_ticks(Scheduler(), args.schedules)
    measure_lateness(every_second, args.seconds)


if __name__ == "__main__":
    main()
