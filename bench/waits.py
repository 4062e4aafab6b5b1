"""Waits benchmark: 1,000 waiting wait_for steps on one worker of 8 threads leave them free.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton \\
    BROKER_URL=redis://127.0.0.1:6379/0 python bench/waits.py [--waits 1000 --every 60]

It creates a throwaway database (``baton_bench_waits``), starts one worker
process (``manage.py runworker -p 1 -t 8``), and prints, beside their targets:

- how long 1,000 wait_for steps take to make their first check and wait;
- how many worker threads they hold while waiting (target: 0);
- 8 tasks of 0.5 s started beside them: how many ran at once (target: 8, every
  thread) and how long the run took, next to the same run on the idle worker.
"""

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
THREADS = 8

WORKFLOWS = """
import time
from datetime import timedelta

from workflows import task, wait_for, workflow


@task
def not_yet() -> bool:
    return False


@task
def half_a_second(n: int) -> int:
    time.sleep(0.5)
    return n


@workflow
def bench_many_waits():
    for n in range({waits}):
        wait_for(not_yet.with_options(name=f"wait_{{n}}")(), every=timedelta(seconds={every}),
                 timeout=None)


@workflow
def bench_work():
    for n in range({threads}):
        half_a_second.with_options(name=f"work_{{n}}")(n)
"""


def main() -> None:
    options = _arguments()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("BROKER_URL")):
        raise SystemExit("bench: set DATABASE_URL (PostgreSQL) and BROKER_URL (Redis)")
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-waits-"))
    (folder / "bench_waits_workflows.py").write_text(
        WORKFLOWS.format(waits=options.waits, every=options.every, threads=THREADS)
    )
    os.environ["BATON_WORKFLOWS_DIR"] = str(folder)
    os.environ.setdefault("DEBUG", "0")  # DEBUG keeps every SQL query: not what is measured
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    Bench(options).run()


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--waits", type=int, default=1000, help="wait_for steps in one run")
    parser.add_argument("--every", type=int, default=60, help="seconds between their checks")
    return parser.parse_args()


class Bench:
    def __init__(self, options):
        self.options = options
        self.worker = None

    def run(self) -> None:
        import dramatiq
        from django.db import connection

        old_name = connection.settings_dict["NAME"]
        connection.settings_dict.setdefault("TEST", {})["NAME"] = "baton_bench_waits"
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            self.worker = _worker_process()
            idle = self.work_run()
            rows = self.waits_and_work(idle)
        finally:
            if self.worker is not None:
                os.killpg(self.worker.pid, signal.SIGTERM)
                self.worker.wait(timeout=30)
            dramatiq.get_broker().flush_all()  # the waits' delayed messages: none left behind
            connection.creation.destroy_test_db(old_name, verbosity=0)
        print(f"Baton waits bench: PostgreSQL + Redis, 1 worker process × {THREADS} threads\n")
        print(f"{'':52} {'measured':>12} {'target':>12}")
        for label, measured, target in rows:
            print(f"{label:52} {measured:>12} {target:>12}")

    def waits_and_work(self, idle: tuple[int, float]) -> list[tuple]:
        from runs.models import TaskRun

        n = self.options.waits
        began = time.monotonic()
        run = self._trigger("bench_many_waits")
        tasks = TaskRun.objects.filter(run=run)
        while tasks.filter(state="waiting").count() < n:
            if time.monotonic() - began > 600:
                raise SystemExit("bench: the waits did not all start waiting in 10 min")
            time.sleep(0.1)
        to_wait = time.monotonic() - began
        held = tasks.filter(state="running").count()
        at_once, took = self.work_run()
        still = tasks.filter(state="waiting").count()
        return [
            (f"{n:,} waits: first check made, now waiting", f"{to_wait:.1f} s", "—"),
            ("worker threads they hold while waiting", f"{held}", "0"),
            (f"{THREADS} tasks of 0.5 s beside them: at once", f"{at_once}", f"{THREADS}"),
            (f"{THREADS} tasks of 0.5 s beside them: run took", f"{took:.2f} s", "≈ idle"),
            (f"{THREADS} tasks of 0.5 s on the idle worker: run took", f"{idle[1]:.2f} s", "—"),
            ("waits still waiting afterwards", f"{still:,}", f"{n:,}"),
        ]

    def work_run(self) -> tuple[int, float]:
        """Run the 8 half-second tasks; how many ran at once, and how long the run took."""
        from runs.testing import wait_for_run

        run = wait_for_run(self._trigger("bench_work"), timeout=120)
        if run.state != "success":
            raise SystemExit(f"bench: {run} ended {run.state}")
        spans = list(run.task_runs.values_list("started_at", "finished_at"))
        at_once = max(sum(1 for s, f in spans if s <= start < f) for start, _ in spans)
        return at_once, (run.finished_at - run.created_at).total_seconds()

    def _trigger(self, slug):
        from runs.services import trigger_run
        from workflows.models import Workflow

        return trigger_run(workflow=Workflow.objects.get(slug=slug), parameters={})


def _worker_process() -> subprocess.Popen:
    from django.db import connection

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    command = [sys.executable, "manage.py", "runworker", "-p", "1", "-t", str(THREADS)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stderr=subprocess.STDOUT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    output = []
    for line in process.stdout:
        output.append(line)
        if "is ready for action" in line:
            break
    else:
        raise SystemExit("bench: the worker did not start:\n" + "".join(output[-20:]))
    threading.Thread(target=process.stdout.read, daemon=True).start()  # never a full pipe
    return process


if __name__ == "__main__":
    main()
