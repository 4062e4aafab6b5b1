"""trigger_run benchmark: starting a run of 5,000 tasks, on the configured database.

    python bench/trigger.py                       # SQLite + in-process broker
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton \\
    BROKER_URL=redis://127.0.0.1:6379/10 python bench/trigger.py [--tasks 5000 --runs 7]

It creates a throwaway database (``baton_bench_trigger``), writes a workflow of one
root fanning out to N-1 tasks and one of N independent roots, and prints the median
time of ``trigger_run`` (run row, task-run rows, the roots queued, audit event; the
messages sent on commit) beside the target (≤ 250 ms for 5,000 tasks). No worker
runs: the messages wait in the queue, which is flushed between runs.
"""

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKFLOWS = """
from workflows import task, workflow


@task
def noop() -> None:
    return None


@workflow
def bench_wide_fanout():
    root = noop()
    root >> [noop() for _ in range({tasks} - 1)]


@workflow
def bench_many_roots():
    for _ in range({tasks}):
        noop()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-trigger-"))
    (folder / "bench_trigger_workflows.py").write_text(WORKFLOWS.format(tasks=options.tasks))
    os.environ["BATON_WORKFLOWS_DIR"] = str(folder)
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    test = connection.settings_dict.setdefault("TEST", {})
    test["NAME"] = (
        str(folder / "bench.sqlite3") if connection.vendor == "sqlite" else "baton_bench_trigger"
    )
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        measure(options)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def measure(options) -> None:
    import dramatiq
    from django.conf import settings
    from django.db import connection

    from runs.models import TaskRun
    from runs.services import trigger_run
    from runs.states import TaskState
    from workflows.models import Workflow

    broker = dramatiq.get_broker()
    broker_name = "Redis" if settings.BROKER_URL else "in-process broker"
    print(f"trigger_run bench: {connection.vendor} + {broker_name}, {options.tasks:,} tasks\n")
    for slug, label, roots in (
        ("bench_wide_fanout", "one root fanning out", 1),
        ("bench_many_roots", "all roots (each queued and sent)", options.tasks),
    ):
        workflow = Workflow.objects.get(slug=slug)
        Workflow.objects.filter(pk=workflow.pk).update(max_active_runs=1000)
        took, cpu = [], []
        for _ in range(options.runs):
            began, began_cpu = time.perf_counter(), cpu_seconds(connection)
            run = trigger_run(workflow=workflow, parameters={})
            took.append((time.perf_counter() - began) * 1000)
            cpu.append((cpu_seconds(connection) - began_cpu) * 1000)
            assert waiting_messages(broker) == roots
            broker.flush_all()
            assert TaskRun.objects.filter(run=run).count() == options.tasks
            assert TaskRun.objects.filter(run=run, state=TaskState.QUEUED).count() == roots
        print(
            f"trigger_run, {label:34} {statistics.median(took):7.1f} ms median, "
            f"{min(took):.1f} ms best   (target ≤ 250 ms); "
            f"CPU {statistics.median(cpu):.1f} ms median"
        )
    print(f"\nCPU: {CPU_OF}; the wall clock counts the waits for other processes too.")


CPU_OF = "this process's, plus its PostgreSQL backend's when on the same host (Redis's not)"


def cpu_seconds(connection) -> float:
    """CPU time of this process and of its PostgreSQL backend (read from /proc if local)."""
    spent = time.process_time()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = Path(f"/proc/{cursor.fetchone()[0]}/schedstat")
        if backend.exists():  # on-CPU nanoseconds, the first field
            spent += int(backend.read_text().split()[0]) / 1e9
    return spent


def waiting_messages(broker) -> int:
    """How many messages wait in the default queue (the bench's tasks all go there)."""
    if hasattr(broker, "client"):  # Redis
        return broker.client.llen(f"{broker.namespace}:default")
    return broker.queues["default"].qsize()


if __name__ == "__main__":
    main()
