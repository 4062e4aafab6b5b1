"""Isolated environments benchmark: a task in its cached uv environment next to the same task
in the worker, and next to rebuilding a virtualenv at every run (PythonVirtualenvOperator
without ``venv_cache_path``), all in one run.

    python bench/isolation.py [--runs 20 --rebuilds 3 --colds 5]

Embedded default (SQLite in a throwaway folder, worker threads in this process); packages
come from a wheelhouse it writes itself (no network). It prints, each beside its target:

- warm: median task duration (started → finished) of an isolated task minus the same task
  in the worker, over ``--runs`` runs each (target ≤ +150 ms);
- rebuild: ``python -m venv`` + ``pip install`` of the same wheel + one import, median of
  ``--rebuilds``, divided by the warm isolated task's duration (target ≥ 20×);
- cold: a new environment of one small wheel already in uv's cache, median of ``--colds``
  (target ≤ 3 s);
- ten tasks with the same new requirements started at once (one run, ten worker threads),
  and ten processes calling ``build_environment`` at once: how many built it (target 1).
"""

import argparse
import multiprocessing
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKFLOWS = """
from workflows import task, workflow


@task
def in_worker():
    return 1


@task(requirements=["batontestpkg==1.0"])
def isolated():
    import batontestpkg

    return 1


@task(requirements=["batontestpkg==2.0"])
def first_use():
    import batontestpkg

    return batontestpkg.__version__


@workflow
def bench_in_worker():
    in_worker()


@workflow
def bench_isolated():
    isolated()


@workflow
def bench_ten_at_once():
    [first_use() for _ in range(10)]
"""


def main() -> None:
    options = _arguments()
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-isolation-"))
    (folder / "workflows").mkdir()
    (folder / "workflows" / "bench_isolation.py").write_text(WORKFLOWS)
    sys.path[:0] = [str(ROOT)]
    from tests.wheelhouse import write_wheelhouse

    wheelhouse = write_wheelhouse(folder / "wheelhouse")
    os.environ.update(
        BATON_WORKFLOWS_DIR=str(folder / "workflows"),
        BATON_ENV_DIR=str(folder / "envs"),
        BATON_PIP_FIND_LINKS=str(wheelhouse),
        BATON_PIP_INDEX_URL="",
        UV_CACHE_DIR=str(folder / "uv-cache"),  # shared by every BATON_ENV_DIR of this bench
    )
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    Bench(options, folder, wheelhouse).run()


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="warm runs of each task")
    parser.add_argument("--rebuilds", type=int, default=3, help="venv + pip rebuilds")
    parser.add_argument("--colds", type=int, default=5, help="cold builds from uv's cache")
    return parser.parse_args()


class Bench:
    def __init__(self, options, folder: Path, wheelhouse: Path):
        self.options = options
        self.folder = folder
        self.wheelhouse = wheelhouse

    def run(self) -> None:
        from django.db import connection

        from runs.testing import in_process_worker, use_workflows

        old_name = connection.settings_dict["NAME"]
        connection.settings_dict.setdefault("TEST", {})["NAME"] = str(self.folder / "b.sqlite3")
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            with use_workflows(self.folder / "workflows"), in_process_worker(threads=10):
                rows = [*self.warm(), self.ten_tasks_at_once()]
            rows.append(self.rebuild(rows[1][1]))
            rows += [self.cold(), self.ten_processes_at_once()]
            self._print(rows)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)

    def warm(self) -> list[tuple]:
        self._durations("bench_isolated", 1)  # builds its environment: not measured
        self._durations("bench_in_worker", 1)
        in_worker = statistics.median(self._durations("bench_in_worker", self.options.runs))
        isolated = statistics.median(self._durations("bench_isolated", self.options.runs))
        extra = (isolated - in_worker) * 1000
        return [
            ("warm: task in the worker (median)", in_worker, "s", ""),
            ("warm: isolated task (median)", isolated, "s", ""),
            ("warm: isolated − in worker", extra, "ms", "≤ +150 ms", extra <= 150),
        ]

    def ten_tasks_at_once(self) -> tuple:
        from runs.selectors import task_log

        run = self._run("bench_ten_at_once", timeout=120)
        logs = [task_log(task_run=task) for task in run.task_runs.all()]
        built = sum("Preparing environment" in log for log in logs)
        ok = run.state == "success" and built == 1
        return ("ten tasks at once, same new env: builds", built, "", "1", ok)

    def rebuild(self, isolated: float) -> tuple:
        times = []
        for n in range(self.options.rebuilds):
            target = self.folder / f"venv-{n}"
            started = time.monotonic()
            subprocess.run([sys.executable, "-m", "venv", target], check=True)
            pip = [target / "bin" / "pip", "install", "-q", "--no-index"]
            pip += ["--find-links", self.wheelhouse, "batontestpkg==1.0"]
            subprocess.run(pip, check=True)
            subprocess.run([target / "bin" / "python", "-c", "import batontestpkg"], check=True)
            times.append(time.monotonic() - started)
        rebuilt = statistics.median(times)
        ratio = rebuilt / isolated
        return (f"venv + pip each run ({rebuilt:.2f} s) ÷ warm", ratio, "×", "≥ 20×", ratio >= 20)

    def cold(self) -> tuple:
        from django.test import override_settings

        from runs.environments.build import build_environment
        from runs.environments.spec import EnvironmentSpec

        spec = EnvironmentSpec.for_task(["batontestpkg==1.0"], None)  # in uv's cache by now
        times = []
        for n in range(self.options.colds):
            with override_settings(BATON_ENV_DIR=self.folder / f"cold-{n}"):
                started = time.monotonic()
                assert build_environment(spec)
                times.append(time.monotonic() - started)
        cold = statistics.median(times)
        return ("cold: new env of one cached wheel (median)", cold, "s", "≤ 3 s", cold <= 3)

    def ten_processes_at_once(self) -> tuple:
        from runs.environments.spec import EnvironmentSpec

        spec = EnvironmentSpec.for_task(["batontestpkg==2.0", "six==1.16.0"], None)
        fork = multiprocessing.get_context("fork")
        barrier, answers = fork.Barrier(10), fork.Queue()
        arguments = (spec, barrier, answers)
        workers = [fork.Process(target=_first_use, args=arguments) for _ in range(10)]
        for worker in workers:
            worker.start()
        count = sum(answers.get(timeout=120) for _ in workers)
        for worker in workers:
            worker.join()
        return ("ten processes at once, same new env: builds", count, "", "1", count == 1)

    def _durations(self, slug: str, runs: int) -> list[float]:
        durations = []
        for _ in range(runs):
            task = self._run(slug).task_runs.get()
            assert task.state == "success", task.error
            durations.append((task.finished_at - task.started_at).total_seconds())
        return durations

    def _run(self, slug: str, timeout: float = 60):
        from runs.services import trigger_run
        from runs.testing import wait_for_run
        from workflows.models import Workflow

        run = trigger_run(workflow=Workflow.objects.get(slug=slug), parameters={})
        return wait_for_run(run, timeout=timeout)

    def _print(self, rows) -> None:
        load = os.getloadavg()
        print(f"\nIsolated environments — load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print(f"{'':48} {'value':>10} {'target':>10}")
        for label, value, unit, target, *met in rows:
            shown = f"{value:.3f} {unit}" if isinstance(value, float) else f"{value} {unit}"
            verdict = ("ok" if met[0] else "MISSED") if met else ""
            print(f"{label:48} {shown:>10} {target:>10} {verdict}")


def _first_use(spec, barrier, answers) -> None:
    from runs.environments.build import build_environment

    barrier.wait()
    answers.put(build_environment(spec))


if __name__ == "__main__":
    main()
