"""Page benchmark: server time of each staff page on a large history.

    python bench/pages.py                         # SQLite file var/bench_pages.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton python bench/pages.py
                                                  # database "baton_bench_pages" on that server

Seeds (once; ``--reseed`` starts over) 1,000 workflows with 50,000 runs and
200,000 task runs (bulk_create), schedules on a third of the workflows, a 5 MB
task log, and two users: a superuser, and a user holding per-workflow roles on
600 workflows (half to them, half through a group). Then it prints the median
server time of each page over ``--requests`` requests made with Django's test
Client (no network, no browser), for each user. Target: ≤ 150 ms each.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 150
TASKS = ("extract", "transform", "load", "report")
TAGS = ("billing", "sales", "ops", "hr", "finance", "nightly", "hourly", "exports", "crm", "ml")


def main() -> None:
    options = _arguments()
    sys.path.insert(0, str(ROOT))
    if not os.environ.get("DATABASE_URL"):
        os.environ["BATON_SQLITE_PATH"] = str(ROOT / "var" / "bench_pages.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    _use_bench_database()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    seeded = _seeded()
    _activate()
    if options.reseed or not seeded:
        started = time.perf_counter()
        _seed(options.workflows, options.task_runs)
        _analyze()
        print(f"Seeded in {time.perf_counter() - started:.0f} s.")
    _measure(options.requests)


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workflows", type=int, default=1000)
    parser.add_argument("--task-runs", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=15, help="timed requests per page")
    parser.add_argument("--reseed", action="store_true", help="empty the bench data and seed again")
    return parser.parse_args()


def _use_bench_database() -> None:
    """On PostgreSQL, switch to (and create) the database "baton_bench_pages"."""
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        return
    # The maintenance database always exists; DATABASE_URL's own may not (tests make theirs).
    connection.settings_dict["NAME"] = "postgres"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = 'baton_bench_pages'")
        if cursor.fetchone() is None:
            cursor.execute("CREATE DATABASE baton_bench_pages")
    connection.close()
    connections["default"].settings_dict["NAME"] = "baton_bench_pages"


def _activate() -> None:
    """migrate syncs workflows from code, which marks the seeded ones as removed: undo that."""
    from workflows.models import Workflow

    Workflow.objects.filter(slug__startswith="bench_").update(is_active=True)


def _analyze() -> None:
    """Fresh table statistics, as a database that has lived a while has them."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _seeded() -> bool:
    from workflows.models import Workflow

    return Workflow.objects.filter(slug__startswith="bench_").exists()


# --- Seeding ----------------------------------------------------------------------------------


def _seed(workflow_count: int, task_run_count: int) -> None:
    from django.db import transaction

    from workflows.models import Workflow

    with transaction.atomic():
        _empty()
        workflows = Workflow.objects.bulk_create(
            Workflow(
                slug=f"bench_{n:04d}",
                title=f"Bench workflow {n:04d}",
                description=f"Exports batch {n} of the {TAGS[n % 10]} data.\n\nFor the bench.",
                tags=[TAGS[n % 10], TAGS[(n * 7) % 10]],
                parameter_schema={"type": "object", "properties": {}},
                is_paused=n % 17 == 0,
            )
            for n in range(1, workflow_count + 1)
        )
        _seed_tasks(workflows)
        _seed_schedules(workflows[::3])
        run_ids = _seed_runs(workflows, task_run_count // len(TASKS))
        _seed_log(run_ids[-len(workflows)])  # the running run of bench_0001
        _seed_people(workflows)


def _empty() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django_celery_beat.models import PeriodicTask

    from runs.models import WorkflowRun
    from workflows.models import Workflow

    bench = Workflow.objects.filter(slug__startswith="bench_")
    WorkflowRun.objects.filter(workflow__in=bench).delete()
    PeriodicTask.objects.filter(name__startswith="bench_").delete()
    bench.delete()
    get_user_model().objects.filter(username__startswith="bench_").delete()
    Group.objects.filter(name="bench team").delete()


def _seed_tasks(workflows) -> None:
    from workflows.models import TaskSpec

    TaskSpec.objects.bulk_create(
        TaskSpec(
            workflow=workflow,
            name=name,
            kind="python",
            position=position,
            upstream=[TASKS[position - 1]] if position else [],
            retry_delay=timedelta(seconds=30),
            max_retry_delay=timedelta(minutes=10),
        )
        for workflow in workflows
        for position, name in enumerate(TASKS)
    )


def _seed_schedules(workflows) -> None:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from workflows.models import WorkflowSchedule
    from workflows.schedules import BATON_TASK

    cron, _ = CrontabSchedule.objects.get_or_create(minute="0", hour="3", timezone="UTC")
    tasks = PeriodicTask.objects.bulk_create(
        PeriodicTask(name=f"{workflow.slug}: nightly", task=BATON_TASK, crontab=cron)
        for workflow in workflows
    )
    WorkflowSchedule.objects.bulk_create(
        WorkflowSchedule(periodic_task=task, workflow=workflow, from_code=True, owner="code")
        for task, workflow in zip(tasks, workflows, strict=True)
    )


def _seed_runs(workflows, run_count: int) -> list[int]:
    """``run_count`` runs spread over the workflows, newest last; returns their ids."""
    from django.utils import timezone

    from runs.models import TaskRun, WorkflowRun

    now = timezone.now()
    per_workflow = max(1, run_count // len(workflows))
    runs = []
    for index in range(run_count):
        workflow = workflows[index % len(workflows)]
        last_round = index >= run_count - len(workflows)
        running = last_round and index % len(workflows) < 20  # the latest runs of 20 workflows
        state = "running" if running else "failed" if index % 23 == 0 else "success"
        created = now - timedelta(minutes=(run_count - index) * 3)
        finished = None if state == "running" else created + timedelta(seconds=40 + index % 300)
        runs.append(
            WorkflowRun(
                workflow=workflow,
                number=index // len(workflows) + 1,
                state=state,
                parameters={"batch": index},
                trigger="schedule" if index % 3 else "manual",
                created_at=created,
                started_at=created,
                finished_at=finished,
            )
        )
    runs = WorkflowRun.objects.bulk_create(runs, batch_size=5000)
    print(f"{len(runs):,} runs ({per_workflow} per workflow)…")
    TaskRun.objects.bulk_create(
        (task for run in runs for task in _task_runs_of(run)), batch_size=5000
    )
    return [run.pk for run in runs]


def _task_runs_of(run):
    from runs.models import TaskRun

    for position, name in enumerate(TASKS):
        state = run.state
        if run.state == "failed":
            state = ("success", "failed", "upstream_failed", "upstream_failed")[position]
        elif run.state == "running":
            state = ("success", "running", "pending", "pending")[position]
        started = run.started_at + timedelta(seconds=10 * position)
        yield TaskRun(
            run=run,
            task_name=name,
            position=position,
            upstream=[TASKS[position - 1]] if position else [],
            downstream=[TASKS[position + 1]] if position + 1 < len(TASKS) else [],
            state=state,
            attempt=0 if state in ("pending", "upstream_failed") else 1,
            started_at=None if state in ("pending", "upstream_failed") else started,
            finished_at=started + timedelta(seconds=9) if state in ("success", "failed") else None,
        )


def _seed_log(run_id: int) -> None:
    """A 5 MB log on the "transform" task of the last (running) run, in 0.5 s-sized chunks."""
    from runs.models import TaskLogChunk, TaskRun

    task = TaskRun.objects.get(run_id=run_id, task_name="transform")
    line = "2024-06-01 03:00:00,000 INFO transformed a row of the batch without trouble {}\n"
    text = "".join(line.format(n) for n in range(1, 62_000))
    size = 16_384
    TaskLogChunk.objects.bulk_create(
        TaskLogChunk(task_run=task, attempt=1, seq=seq, text=text[start : start + size])
        for seq, start in enumerate(range(0, len(text), size))
    )


def _seed_people(workflows) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import GroupObjectPermission, UserObjectPermission

    from accounts.testing import give_role
    from workflows.models import Workflow

    User = get_user_model()
    User.objects.create_superuser("bench_root", "root@bench.example", "bench")
    user = User.objects.create_user("bench_ops", "ops@bench.example", "bench")
    team = Group.objects.create(name="bench team")
    team.user_set.add(user)
    give_role(user, "operator", Workflow.objects.get(slug="sales_report"))
    content_type = ContentType.objects.get_for_model(Workflow)
    perms = list(
        Permission.objects.filter(
            content_type=content_type, codename__in=["view_workflow", "trigger_workflow"]
        )
    )
    on = {"content_type": content_type}
    UserObjectPermission.objects.bulk_create(
        UserObjectPermission(user=user, permission=perm, object_pk=w.pk, **on)
        for w in workflows[:300]
        for perm in perms
    )
    GroupObjectPermission.objects.bulk_create(
        GroupObjectPermission(group=team, permission=perm, object_pk=w.pk, **on)
        for w in workflows[300:600]
        for perm in perms
    )


# --- Measuring ----------------------------------------------------------------------------------


def _pages() -> list[tuple[str, str, dict]]:
    from runs.log_reader import LogReader
    from runs.models import TaskRun, WorkflowRun

    run = WorkflowRun.objects.filter(workflow__slug="bench_0500").order_by("-pk").first()
    log_task = TaskRun.objects.filter(log_chunks__isnull=False).order_by("-pk").first()
    log = f"/runs/{log_task.run_id}/tasks/{log_task.task_name}/log/"
    # What a live tail asks every 2 s: the last couple of KB.
    after = LogReader(task_run_id=log_task.pk, attempt=1).size - 2_000
    htmx = {"HTTP_HX_REQUEST": "true"}
    return [
        ("home", "/", {}),
        ("home, search", "/?q=batch+5", {}),
        ("home, tag", "/?tag=billing", {}),
        ("home, page 10", "/?page=10", {}),
        ("workflow page (grid)", "/workflows/bench_0500/", {}),
        ("run form", "/workflows/sales_report/run/", {}),
        ("runs", "/runs/", {}),
        ("runs, failed", "/runs/?state=failed", {}),
        ("runs, one workflow", "/runs/?workflow=bench_0500", {}),
        ("runs, page 200", "/runs/?page=200", {}),
        ("run page", f"/runs/{run.pk}/", {}),
        ("run page, live fragment", f"/runs/{run.pk}/", htmx),
        ("log page (5 MB log)", log, {}),
        ("log, live tail", f"{log}tail/?attempt=1&after={after}&line=60000", htmx),
        ("log, download", f"/runs/{log_task.run_id}/tasks/{log_task.task_name}/log/download/", {}),
    ]


def _measure(requests: int) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment(debug=False)
    settings.DEBUG = False  # no query log: time what production runs
    User = get_user_model()
    print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
    print(f"Median server time of {requests} requests (after 2 warm-up requests):\n")
    print(f"{'page':<28} {'superuser':>12} {'per-workflow roles':>20}")
    worst = 0.0
    clients = []
    for username in ("bench_root", "bench_ops"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        clients.append(client)
    for name, url, headers in _pages():
        cells = []
        for client in clients:
            median = _median_ms(client, url, headers, requests)
            worst = max(worst, median)
            mark = "" if median <= TARGET_MS else " !"
            cells.append(f"{median:8.1f} ms{mark}")
        print(f"{name:<28} {cells[0]:>12} {cells[1]:>20}")
    verdict = "all within" if worst <= TARGET_MS else "NOT all within"
    print(f"\nSlowest: {worst:.1f} ms — {verdict} the {TARGET_MS} ms target.")


def _median_ms(client, url: str, headers: dict, requests: int) -> float:
    times = []
    for attempt in range(requests + 2):
        started = time.perf_counter()
        response = client.get(url, **headers)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        if attempt >= 2:
            times.append(elapsed)
    return statistics.median(times)


if __name__ == "__main__":
    main()
