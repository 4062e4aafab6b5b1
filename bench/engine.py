"""Engine benchmark: Baton's overhead next to a bare Dramatiq actor, on the configured services.

    python bench/engine.py                    # SQLite + in-process broker (the embedded default)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton \\
    BROKER_URL=redis://127.0.0.1:6379/0 python bench/engine.py [--processes 2 --threads 8]

It runs with DEBUG=0 unless told otherwise, creates a throwaway database
(``baton_bench``, or ``$BENCH_DATABASE``), starts workers (``dramatiq`` processes like ``manage.py
runworker`` on Redis, threads in this process on the in-process broker) and
prints, each beside the same figure for a bare actor doing one UPDATE per
message with the same worker settings:

- trigger → first task started (median over sequential runs, workers idle between);
- chain gap: a task's end → the next task's start in a chain of no-op tasks
  (bare: one message's UPDATE → the next one's, each sending the next);
- fan-out throughput: tasks per second for one task fanning out to N no-op tasks;
- fan-in throughput: tasks per second for N no-op tasks upstream of one, beside the fan-out's
  (target: at least 0.8 times it);
- on PostgreSQL + Redis, the CPU time per fanned-out task of the worker processes and of
  the bench database's PostgreSQL backends (target ≤ 2.5 ms).
"""

import argparse
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKFLOWS = """
from workflows import task, workflow


@task
def noop() -> None:
    return None


@workflow
def bench_single():
    noop()


@workflow
def bench_chain():
    previous = noop()
    for _ in range({chain} - 1):
        step = noop()
        previous >> step
        previous = step


@workflow
def bench_fanout():
    root = noop()
    root >> [noop() for _ in range({fanout})]


@workflow
def bench_fanin():
    [noop() for _ in range({fanout})] >> noop()
"""

BARE_ACTOR = """
import time

import dramatiq
from django.db import connection


@dramatiq.actor(queue_name="bench_bare", time_limit=float("inf"))
def bare_update(row_id: int, last_id: int = 0) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE bench_bare SET done_at = %s WHERE id = %s", [time.time(), row_id])
    if row_id < last_id:
        bare_update.send(row_id + 1, last_id)
"""


def main() -> None:
    options = _arguments()
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-"))
    (folder / "workflows").mkdir()
    (folder / "workflows" / "bench_workflows.py").write_text(
        WORKFLOWS.format(chain=options.chain, fanout=options.fanout)
    )
    (folder / "bench_bare.py").write_text(BARE_ACTOR)
    os.environ["BATON_WORKFLOWS_DIR"] = str(folder / "workflows")
    # Production settings: DEBUG keeps a log of every SQL query, which is not what is measured.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    sys.path[:0] = [str(ROOT), str(folder)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    Bench(options, folder).run()


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=2, help="worker processes (Redis)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    parser.add_argument("--triggers", type=int, default=20, help="samples of trigger latency")
    parser.add_argument("--chain", type=int, default=20, help="tasks in the chain")
    parser.add_argument("--chains", type=int, default=5, help="chain runs")
    parser.add_argument("--fanout", type=int, default=1000, help="tasks in the fan-out")
    parser.add_argument(
        "--only", choices=["all", "trigger", "chain", "fanout", "fanin"], default="all"
    )
    return parser.parse_args()


class Bench:
    def __init__(self, options, folder: Path):
        from django.conf import settings

        self.options = options
        self.folder = folder
        self.redis = bool(settings.BROKER_URL)
        self.workers = None

    def run(self) -> None:
        from django.db import connection

        old_name = self._create_database()
        try:
            self._start_workers()
            self._warm_up()
            rows = []
            if self.options.only in ("all", "trigger"):
                rows.append(self.trigger_latency())
            if self.options.only in ("all", "chain"):
                rows += self.chain_gap()
            if self.options.only in ("all", "fanout", "fanin"):
                rows += self.fanout_throughput()
            if self.options.only in ("all", "fanin"):
                rows.append(self.fanin_throughput())
            self._print(rows)
        finally:
            self._stop_workers()
            connection.creation.destroy_test_db(old_name, verbosity=0)

    # --- setup ------------------------------------------------------------------------------

    def _create_database(self) -> str:
        from django.db import connection

        old_name = connection.settings_dict["NAME"]
        test = connection.settings_dict.setdefault("TEST", {})
        test["NAME"] = (
            str(self.folder / "bench.sqlite3")
            if connection.vendor == "sqlite"
            else os.environ.get("BENCH_DATABASE", "baton_bench")
        )
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_bare (id integer PRIMARY KEY, done_at float)")
        return old_name

    def _start_workers(self) -> None:
        import bench_bare  # noqa: F401 - declares the bare actor on this process's broker
        import dramatiq

        broker = dramatiq.get_broker()
        for queue in ("default", "bench_bare"):
            broker.declare_queue(queue)
        if not self.redis:
            from runs.embedded import EmbeddedWorker

            self.workers = EmbeddedWorker(threads=self.options.threads).start()
            return
        broker.flush_all()
        self.workers = _dramatiq_processes(self.options, self.folder)

    def _stop_workers(self) -> None:
        if self.workers is None:
            return
        if self.redis:
            os.killpg(self.workers.pid, signal.SIGTERM)
            self.workers.wait(timeout=30)
        else:
            self.workers.stop()

    def _warm_up(self) -> None:
        for _ in range(3):
            self._wait(self._trigger("bench_single"))
            self._bare([1, 2, 3], chained=False)

    # --- measurements -------------------------------------------------------------------------

    def trigger_latency(self) -> tuple:
        baton, bare = [], []
        for _ in range(self.options.triggers):
            time.sleep(0.3)  # idle workers, as when someone presses Run
            began = time.time()
            run = self._wait(self._trigger("bench_single"))
            baton.append(run.task_runs.get().started_at.timestamp() - began)
            time.sleep(0.3)
            began = time.time()
            bare.append(self._bare([1], chained=False)[0] - began)
        return ("trigger → first task started, median", _ms(baton), _ms(bare))

    def chain_gap(self) -> list[tuple]:
        baton, bare = [], []
        size = self.options.chain
        for _ in range(self.options.chains):
            run = self._wait(self._trigger("bench_chain"))
            tasks = list(run.task_runs.order_by("position"))
            baton += [
                (b.started_at - a.finished_at).total_seconds()
                for a, b in zip(tasks, tasks[1:], strict=False)
            ]
            done = self._bare(list(range(1, size + 1)), chained=True)
            bare += [b - a for a, b in zip(done, done[1:], strict=False)]
        return [
            ("chain gap, median", _ms(baton), _ms(bare)),
            ("chain gap, p95", _ms(baton, 95), _ms(bare, 95)),
        ]

    def fanout_throughput(self) -> list[tuple]:
        n = self.options.fanout
        cpu = self._cpu_seconds()
        run = self._wait(self._trigger("bench_fanout"), timeout=300)
        baton_cpu = (self._cpu_seconds() - cpu) / (n + 1)
        tasks = list(run.task_runs.order_by("position"))
        root, leaves = tasks[0], tasks[1:]
        elapsed = max(t.finished_at for t in leaves) - root.finished_at
        baton = self.fanout_rate = n / elapsed.total_seconds()
        began, cpu = time.time(), self._cpu_seconds()
        done = self._bare(list(range(1, n + 1)), chained=False, timeout=300)
        bare_cpu = (self._cpu_seconds() - cpu) / n
        bare = n / (max(done) - began)
        rows = [(f"fan-out of {n} tasks, tasks/s", f"{baton:.0f}", f"{bare:.0f}", baton / bare)]
        if self.redis:
            rows.append(
                (
                    "CPU per fanned-out task (worker + PG)",
                    f"{baton_cpu * 1000:.2f} ms",
                    f"{bare_cpu * 1000:.2f} ms",
                )
            )
        return rows

    def fanin_throughput(self) -> tuple:
        """N upstream tasks, from the first one's start to the start of the task after them."""
        n = self.options.fanout
        run = self._wait(self._trigger("bench_fanin"), timeout=300)
        tasks = list(run.task_runs.order_by("position"))
        upstream, last = tasks[:-1], tasks[-1]
        elapsed = (last.started_at - min(t.started_at for t in upstream)).total_seconds()
        rate = n / elapsed
        return (
            f"fan-in of {n}, tasks/s (beside: fan-out)",
            f"{rate:.0f}",
            f"{self.fanout_rate:.0f}",
        )

    def _cpu_seconds(self) -> float:
        """CPU time so far of the worker processes and this database's PostgreSQL backends.

        Read from /proc (same machine); the bench's own process and its polling are left
        out, the backends of everyone else's databases too.
        """
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            pids = [row[0] for row in cursor.fetchall()]
        pids += _process_group(self.workers.pid)
        return sum(_cpu_of(pid) for pid in pids)

    # --- helpers ------------------------------------------------------------------------------

    def _trigger(self, slug):
        from runs.services import trigger_run
        from workflows.models import Workflow

        return trigger_run(workflow=Workflow.objects.get(slug=slug), parameters={})

    def _wait(self, run, timeout=60):
        from runs.testing import wait_for_run

        run = wait_for_run(run, timeout=timeout)
        if run.state != "success":
            raise SystemExit(f"bench: {run} ended {run.state}")
        return run

    def _bare(self, ids: list[int], *, chained: bool, timeout: float = 60) -> list[float]:
        import bench_bare
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM bench_bare")
            for row_id in ids:
                cursor.execute("INSERT INTO bench_bare (id) VALUES (%s)", [row_id])
        if chained:
            bench_bare.bare_update.send(ids[0], ids[-1])
        else:
            for row_id in ids:
                bench_bare.bare_update.send(row_id)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute("SELECT done_at FROM bench_bare ORDER BY id")
                done = [row[0] for row in cursor.fetchall()]
            if all(done):
                return done
            time.sleep(0.005)
        raise SystemExit("bench: the bare actor did not finish")

    def _print(self, rows) -> None:
        from django.db import connection

        broker = "Redis" if self.redis else "in-process broker"
        workers = f"{self.options.processes} processes × " if self.redis else ""
        print(
            f"Baton engine bench: {connection.vendor} + {broker}, "
            f"{workers}{self.options.threads} threads\n"
        )
        print(f"{'':42} {'Baton':>9} {'bare':>9} {'ratio':>7}  target")
        for label, baton, bare, *ratio in rows:
            value = ratio[0] if ratio else float(baton.split()[0]) / float(bare.split()[0])
            print(f"{label:42} {baton:>9} {bare:>9} {value:>7.2f}  {_target(label)}")


# Issue 21's targets, by the start of a row's label.
TARGETS = {
    "chain gap, median": "ratio <= 1.0 (quiet machine: <= 3 ms)",
    "chain gap, p95": "ratio <= 2.0",
    "CPU per fanned-out task": "<= 2.5 ms",
    "fan-in of": "ratio >= 0.8",
}


def _target(label: str) -> str:
    return next((target for start, target in TARGETS.items() if label.startswith(start)), "")


def _dramatiq_processes(options, folder: Path) -> subprocess.Popen:
    """Worker processes as `manage.py runworker` starts them, plus the bare actor's module."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "dramatiq_worker_timeout": str(settings.BATON_WORKER_POLL_MS),
    }
    command = [
        str(Path(sys.executable).with_name("dramatiq")),
        *("django_dramatiq.setup", "runs.actors", "bench_bare"),
        *("--path", str(ROOT), str(folder)),
        *("--processes", str(options.processes), "--threads", str(options.threads)),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    ready, output = 0, []
    for line in process.stderr:
        output.append(line)
        ready += "is ready for action" in line
        if ready == options.processes:
            break
    if ready < options.processes:
        raise SystemExit("bench: the workers did not start:\n" + "".join(output[-20:]))
    # Keep reading their output, so a full pipe never blocks them.
    threading.Thread(target=process.stderr.read, daemon=True).start()
    return process


def _process_group(leader: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == leader:
                    members.append(int(entry.name))
            except ProcessLookupError:
                pass
    return members


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _ms(values: list[float], percentile: int = 50) -> str:
    ordered = sorted(values)
    if percentile == 50:
        value = statistics.median(ordered)
    else:
        value = ordered[min(len(ordered) - 1, round(percentile / 100 * (len(ordered) - 1)))]
    return f"{value * 1000:.1f} ms"


if __name__ == "__main__":
    main()
