"""Baton beside Prefect 3 on the same shapes, interleaved (A B A B) so machine noise hits both.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton \\
    BROKER_URL=redis://127.0.0.1:6379/10 python bench/peers.py [--rounds 3]

Prefect runs from a virtualenv of the bench's own, never a project dependency
(``python3 -m venv var/bench-prefect && var/bench-prefect/bin/pip install prefect``;
``--prefect-python`` names another), in a long-lived process of its own with
Prefect's temporary local server and its thread-pool task runner. Baton runs as
bench/engine.py does (throwaway database, ``dramatiq`` worker processes). Shapes:

- chain20: 20 no-op tasks one after another, the median gap between one's end and
  the next one's start;
- seq40: a chain of 40, from the trigger to the last task's end;
- fanout200: one task fanning out to 200, leaves per second after the root's end;
- fanin1000: 1,000 tasks all upstream of one, tasks per second from the first
  start to the last task's end.

Each figure is printed beside Prefect's of the same rounds and their ratio, with
which one is ahead. Lower is better for times, higher for rates.
"""

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREFECT_PYTHON = ROOT / "var" / "bench-prefect" / "bin" / "python"
SHAPES = ("chain20", "seq40", "fanout200", "fanin1000")

BATON_WORKFLOWS = """
from workflows import task, workflow


@task
def noop() -> None:
    return None


def _chain(size):
    previous = noop()
    for _ in range(size - 1):
        step = noop()
        previous >> step
        previous = step


@workflow
def peers_chain20():
    _chain(20)


@workflow
def peers_seq40():
    _chain(40)


@workflow
def peers_fanout200():
    noop() >> [noop() for _ in range(200)]


@workflow
def peers_fanin1000():
    [noop() for _ in range(1000)] >> noop()
"""

PREFECT_SIDE = r"""
import json, sys, time
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

marks = []

@task
def noop(_=None):
    began = time.time()
    marks.append((began, time.time()))

@flow(task_runner=ThreadPoolTaskRunner(max_workers=THREADS))
def chain(size: int):
    previous = None
    for _ in range(size):
        previous = noop.submit(wait_for=[previous] if previous else [])
    previous.wait()

@flow(task_runner=ThreadPoolTaskRunner(max_workers=THREADS))
def fanout(size: int):
    root = noop.submit()
    leaves = [noop.submit(wait_for=[root]) for _ in range(size)]
    for leaf in leaves:
        leaf.wait()

@flow(task_runner=ThreadPoolTaskRunner(max_workers=THREADS))
def fanin(size: int):
    ups = [noop.submit() for _ in range(size)]
    noop.submit(wait_for=ups).wait()

def measure(shape):
    marks.clear()
    began = time.time()
    if shape == "chain20":
        chain(20)
        ordered = sorted(marks)
        gaps = [b[0] - a[1] for a, b in zip(ordered, ordered[1:])]
        return {"gaps": gaps}
    if shape == "seq40":
        chain(40)
        return {"seconds": max(end for _, end in marks) - began}
    if shape == "fanout200":
        fanout(200)
        ordered = sorted(marks)
        root_end = ordered[0][1]
        return {"rate": 200 / (max(end for _, end in ordered[1:]) - root_end)}
    fanin(1000)
    return {"rate": 1001 / (max(e for _, e in marks) - min(s for s, _ in marks))}

chain(2)  # the temporary server starts, the imports are warm
print("ready", flush=True)
for line in sys.stdin:
    print(json.dumps(measure(line.strip())), flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2, help="Baton worker processes")
    parser.add_argument("--threads", type=int, default=8, help="threads (Baton and Prefect)")
    parser.add_argument("--prefect-python", default=str(PREFECT_PYTHON))
    options = parser.parse_args()
    options.only, options.chain = "all", 20
    if not Path(options.prefect_python).exists():
        raise SystemExit(
            f"bench: no Prefect at {options.prefect_python}: python3 -m venv var/bench-prefect "
            "&& var/bench-prefect/bin/pip install prefect"
        )
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-peers-"))
    (folder / "workflows").mkdir()
    (folder / "workflows" / "peers_workflows.py").write_text(BATON_WORKFLOWS)
    (folder / "bench_bare.py").write_text("")
    os.environ["BATON_WORKFLOWS_DIR"] = str(folder / "workflows")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path[:0] = [str(ROOT), str(folder), str(ROOT / "bench")]
    import django

    django.setup()
    from engine import Bench

    baton = Bench(options, folder)
    old_name = baton._create_database()
    prefect = None
    try:
        baton._start_workers()
        prefect = _start_prefect(options, folder)
        results = {shape: {"Baton": [], "Prefect": []} for shape in SHAPES}
        for _ in range(options.rounds):
            for shape in SHAPES:
                results[shape]["Baton"].append(_baton_measure(baton, shape))
                prefect.stdin.write(shape + "\n")
                prefect.stdin.flush()
                results[shape]["Prefect"].append(json.loads(prefect.stdout.readline()))
        _print(results, options)
    finally:
        if prefect is not None:
            prefect.stdin.close()
            prefect.wait(timeout=60)
        baton._stop_workers()
        from django.db import connection

        connection.creation.destroy_test_db(old_name, verbosity=0)


def _start_prefect(options, folder: Path) -> subprocess.Popen:
    script = folder / "prefect_side.py"
    script.write_text(PREFECT_SIDE.replace("THREADS", str(options.threads)))
    env = {
        **os.environ,
        "PREFECT_HOME": str(folder / "prefect-home"),
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",  # a loaded machine
    }
    env.pop("DATABASE_URL", None)
    process = subprocess.Popen(
        [options.prefect_python, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        # Its temporary server's own noise (errors flushing events as it stops) stays out.
        stderr=(folder / "prefect.log").open("w"),
        text=True,
        env=env,
        cwd=folder,
    )
    if process.stdout.readline().strip() != "ready":
        raise SystemExit("bench: the Prefect side did not start")
    return process


def _baton_measure(bench, shape: str) -> dict:
    import time

    began = time.time()
    run = bench._wait(bench._trigger(f"peers_{shape}"), timeout=300)
    tasks = list(run.task_runs.order_by("position"))
    if shape == "chain20":
        return {
            "gaps": [
                (b.started_at - a.finished_at).total_seconds()
                for a, b in zip(tasks, tasks[1:], strict=False)
            ]
        }
    if shape == "seq40":
        return {"seconds": max(t.finished_at for t in tasks).timestamp() - began}
    if shape == "fanout200":
        root, leaves = tasks[0], tasks[1:]
        return {
            "rate": 200 / (max(t.finished_at for t in leaves) - root.finished_at).total_seconds()
        }
    spread = max(t.finished_at for t in tasks) - min(t.started_at for t in tasks)
    return {"rate": len(tasks) / spread.total_seconds()}


def _print(results: dict, options) -> None:
    from django.db import connection

    print(
        f"Baton vs Prefect 3: {connection.vendor} + Redis for Baton ({options.processes} processes "
        f"× {options.threads} threads), Prefect's thread pool of {options.threads}, "
        f"{options.rounds} rounds interleaved\n"
    )
    print(f"{'':34} {'Baton':>10} {'Prefect':>10} {'ratio':>7}  ahead")
    for shape, label, key, unit, lower_is_better in (
        ("chain20", "chain20 gap, median", "gaps", "ms", True),
        ("seq40", "seq40 trigger → end, median", "seconds", "ms", True),
        ("fanout200", "fanout200, tasks/s, median", "rate", "/s", False),
        ("fanin1000", "fan-in 1,000, tasks/s, median", "rate", "/s", False),
    ):
        figures = {}
        for side in ("Baton", "Prefect"):
            values = [v for r in results[shape][side] for v in _values(r[key])]
            figures[side] = statistics.median(values) * (1000 if unit == "ms" else 1)
        ratio = figures["Baton"] / figures["Prefect"]
        ahead = (ratio < 1) == lower_is_better
        print(
            f"{label:34} {figures['Baton']:>8.1f}{unit} {figures['Prefect']:>8.1f}{unit} "
            f"{ratio:>7.2f}  {'Baton' if ahead else 'Prefect'}"
        )


def _values(value) -> list:
    return value if isinstance(value, list) else [value]


if __name__ == "__main__":
    main()
