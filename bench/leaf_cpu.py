"""CPU of one fanned-out task's attempt, without Dramatiq: ``run_task_run`` on N leaves in a loop.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton python bench/leaf_cpu.py [--leaves 1000]

Creates a throwaway database (``baton_bench_leaf``, or ``$BENCH_DATABASE``), runs a
fan-out's root, then its leaves one after another in this process, and prints per
leaf the CPU time of this process and of its PostgreSQL backend (from /proc, so
PostgreSQL on this machine). What bench/engine.py's "CPU per fanned-out task" adds
to this is Dramatiq's (fetch, middleware, ack) and the concurrency of its threads.
Without BROKER_URL the leaves' messages go to the in-process broker and are dropped;
with it, they are flushed from that Redis database.
"""

import argparse
import os
import secrets
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
def bench_leaves():
    root = noop()
    root >> [noop() for _ in range({leaves})]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leaves", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="fan-outs run; the best is kept")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="baton-leaf-cpu-"))
    (folder / "bench_leaves.py").write_text(WORKFLOWS.format(leaves=options.leaves))
    os.environ["BATON_WORKFLOWS_DIR"] = str(folder)
    os.environ.setdefault("DEBUG", "0")  # DEBUG logs every query: not what is measured
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench: set DATABASE_URL to a PostgreSQL database on this machine")
    old_name = connection.settings_dict["NAME"]
    test = connection.settings_dict.setdefault("TEST", {})
    test["NAME"] = os.environ.get("BENCH_DATABASE", "baton_bench_leaf")
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        best = min(_one_fan_out() for _ in range(options.rounds))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    worker, database = best[1], best[2]
    print(f"CPU per leaf, best of {options.rounds} fan-outs of {options.leaves}:")
    print(f"  this process {worker * 1000:.3f} ms, its PostgreSQL backend {database * 1000:.3f} ms")
    print(f"  together     {(worker + database) * 1000:.3f} ms")


def _one_fan_out() -> tuple[float, float, float]:
    import dramatiq
    from django.db import connection

    from runs.execution.logs import install_log_capture
    from runs.execution.runner import run_task_run
    from runs.services import trigger_run
    from workflows.models import Workflow

    install_log_capture()  # as a worker does at boot
    run = trigger_run(workflow=Workflow.objects.get(slug="bench_leaves"), parameters={})
    root, *leaves = run.task_runs.order_by("position").values_list("pk", flat=True)
    run_task_run(root)  # queues the leaves (their messages are dropped below)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    began_db, began = _cpu_of(backend), time.process_time()
    for pk in leaves:
        run_task_run(pk)
    worker = (time.process_time() - began) / len(leaves)
    database = (_cpu_of(backend) - began_db) / len(leaves)
    run.refresh_from_db()
    if run.state != "success":
        raise SystemExit(f"bench: the run ended {run.state}")
    dramatiq.get_broker().flush_all()
    return worker + database, worker, database


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


if __name__ == "__main__":
    main()
