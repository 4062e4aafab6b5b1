"""Mapping benchmark: a 10,000-item map next to a static fan-out of as many tasks.

    python bench/mapping.py                   # SQLite + in-process broker (the embedded default)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton \\
    BROKER_URL=redis://127.0.0.1:6379/0 python bench/mapping.py [--processes 2 --threads 8]

Same setup as bench/engine.py (a throwaway database, ``dramatiq`` worker processes on
Redis, threads on the in-process broker). It prints, each beside its target:

- instances created: the mapped step claimed → its instances committed (one bulk INSERT
  of --items rows, their messages sent on commit), read from the rows' own timestamps;
- map throughput: instances per second, from the items' task ending to the last instance,
  next to a static fan-out of --items tasks measured the same way (bench/engine.py's figure).
"""

import argparse
import os
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from engine import BARE_ACTOR, Bench  # noqa: E402 - bench/engine.py, beside this file

WORKFLOWS = """
from workflows import task, workflow


@task
def noop() -> None:
    return None


@task
def items(count: int) -> list[int]:
    return list(range(count))


@task
def one(item: int) -> None:
    return None


@workflow
def bench_map(count: int = {items}):
    one.map(items(count))


@workflow
def bench_single():
    noop()


@workflow
def bench_fanout():
    root = noop()
    root >> [noop() for _ in range({items})]
"""

CREATE_TARGET_S = 2.0


def main() -> None:
    options = _arguments()
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-map-"))
    (folder / "workflows").mkdir()
    (folder / "workflows" / "bench_workflows.py").write_text(WORKFLOWS.format(items=options.items))
    (folder / "bench_bare.py").write_text(BARE_ACTOR)  # the engine bench's warm-up uses it
    os.environ["BATON_WORKFLOWS_DIR"] = str(folder / "workflows")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    sys.path.insert(0, str(folder))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    MappingBench(options, folder).run()


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=2, help="worker processes (Redis)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    parser.add_argument("--items", type=int, default=10_000, help="items mapped over")
    parser.add_argument("--rounds", type=int, default=3, help="map and fan-out runs, alternated")
    return parser.parse_args()


class MappingBench(Bench):
    def run(self) -> None:
        from django.db import connection

        old_name = self._create_database()
        try:
            self._start_workers()
            self._warm_up()
            created, mapped, fanout = [], [], []
            for _ in range(self.options.rounds):  # alternated: the machine's load drifts
                took, rate = self.mapped()
                created.append(took)
                mapped.append(rate)
                fanout.append(self.fanout())
            self._report(*(statistics.median(v) for v in (created, mapped, fanout)))
        finally:
            self._stop_workers()
            connection.creation.destroy_test_db(old_name, verbosity=0)

    def _create_database(self) -> str:
        from django.db import connection

        # Its own throwaway database: bench/engine.py may run beside it.
        old_name = connection.settings_dict["NAME"]
        sqlite = connection.vendor == "sqlite"
        name = str(self.folder / "bench.sqlite3") if sqlite else "baton_bench_mapping"
        connection.settings_dict.setdefault("TEST", {})["NAME"] = name
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_bare (id integer PRIMARY KEY, done_at float)")
        return old_name

    def mapped(self) -> tuple[float, float]:
        run = self._wait(self._trigger("bench_map"), timeout=600)
        tasks = {t.task_name: t for t in run.task_runs.filter(map_index__isnull=True)}
        instances = list(run.task_runs.filter(map_parent="one").order_by("queued_at"))
        if len(instances) != self.options.items:
            raise SystemExit(f"bench: {len(instances)} instances, not {self.options.items}")
        step = tasks["one"]
        # queued_at is stamped as the INSERT starts; the first start comes after the commit.
        committed = min(t.started_at for t in instances)
        created = (committed - step.started_at).total_seconds()
        elapsed = max(t.finished_at for t in instances) - tasks["items"].finished_at
        return created, len(instances) / elapsed.total_seconds()

    def fanout(self) -> float:
        run = self._wait(self._trigger("bench_fanout"), timeout=600)
        tasks = list(run.task_runs.order_by("position"))
        root, leaves = tasks[0], tasks[1:]
        elapsed = max(t.finished_at for t in leaves) - root.finished_at
        return len(leaves) / elapsed.total_seconds()

    def _report(self, created: float, mapped: float, fanout: float) -> None:
        from django.db import connection

        broker = "Redis" if self.redis else "in-process broker"
        workers = f"{self.options.processes} processes × " if self.redis else ""
        n = f"{self.options.items:,}"
        print(
            f"Baton mapping bench: {connection.vendor} + {broker}, "
            f"{workers}{self.options.threads} threads, {n} items, "
            f"medians of {self.options.rounds} rounds\n"
        )
        print(f"{'':46} {'measured':>10} {'target':>12}")
        print(f"{'instances created (claim → first start)':46} {created:>9.2f}s {'≤ 2.00 s':>12}")
        print(f"{'map of ' + n + ', instances/s':46} {mapped:>10.0f} {f'≥ {fanout:.0f}':>12}")
        print(f"{'static fan-out of ' + n + ', tasks/s':46} {fanout:>10.0f}")
        ratio = mapped / fanout
        print(f"{'map ÷ fan-out':46} {ratio:>10.2f} {'≥ 1.00':>12}")
        verdict = "met" if created <= CREATE_TARGET_S and ratio >= 1 else "missed"
        print(f"\nTargets {verdict} (medians; rounds differ by several % on a loaded machine).")


if __name__ == "__main__":
    main()
