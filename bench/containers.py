"""Container steps benchmark: a container step's overhead over a shell step, and 20 at once.

    python bench/containers.py                 # SQLite file under var/, in-process broker
    DOCKER_HOST=unix:///run/docker.sock python bench/containers.py [--runs 15]

Docker: the daemon DOCKER_HOST names if one answers, else a dockerd of the bench's own
(tests/docker_daemon.py, as the tests start it; needs root), and the tests' busybox image
made with ``docker import``. It prints, each beside its target:

- Docker's own floor: ``docker run --rm`` of ``true`` (the CLI), median;
- a shell step running ``true``, trigger → run finished, median;
- the same as a container step, median, and its overhead over the shell step (≤ 500 ms);
- 20 container steps of one run at once on one worker (20 threads): all succeed, and no
  container is left behind.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORKFLOWS = """
from workflows import container, shell, workflow

IMAGE = "{image}"


@workflow
def bench_shell():
    shell("step", ["true"])


@workflow
def bench_container():
    container("step", IMAGE, ["true"])


@workflow
def bench_twenty():
    for number in range(20):
        container(f"step_{{number}}", IMAGE, ["sh", "-c", "echo $BATON_TASK; sleep 1"])
"""


def configure(folder: Path) -> None:
    path = ROOT / "var" / "bench-containers.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ["BATON_SQLITE_PATH"] = str(path)
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("BROKER_URL", None)
    os.environ["BATON_WORKFLOWS_DIR"] = str(folder)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")


def docker_floor(image: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            ["docker", "run", "--rm", "--network", "none", image, "true"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - started)
    return times


def step_times(slug: str, runs: int) -> list[float]:
    from runs.services import trigger_run
    from runs.testing import wait_for_run
    from workflows.models import Workflow

    workflow = Workflow.objects.get(slug=slug)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run = wait_for_run(trigger_run(workflow=workflow, parameters={}), timeout=60)
        times.append(time.perf_counter() - started)
        assert run.state == "success", (slug, run.state, list(run.task_runs.values("error")))
    return times


def twenty_at_once(client) -> tuple[float, int, int]:
    from runs.services import trigger_run
    from runs.testing import wait_for_run
    from workflows.models import Workflow

    started = time.perf_counter()
    run = trigger_run(workflow=Workflow.objects.get(slug="bench_twenty"), parameters={})
    run = wait_for_run(run, timeout=120)
    elapsed = time.perf_counter() - started
    succeeded = run.task_runs.filter(state="success").count()
    left = len(client.containers.list(all=True, filters={"label": "baton.task_run"}))
    return elapsed, succeeded, left


def ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="Runs per median.")
    args = parser.parse_args()

    import docker

    from tests.docker_daemon import busybox_image, docker_host

    os.environ["DOCKER_HOST"] = docker_host()
    client = docker.from_env()
    image = busybox_image(client)
    folder = Path(tempfile.mkdtemp(prefix="bench-containers-"))
    (folder / "bench.py").write_text(textwrap.dedent(WORKFLOWS.format(image=image)))
    configure(folder)
    import django

    django.setup()
    from django.core.management import call_command

    from runs.testing import in_process_worker

    call_command("migrate", verbosity=0)  # also syncs the bench's workflows
    floor = docker_floor(image, args.runs)
    print(f"Docker {client.version()['Version']} at {os.environ['DOCKER_HOST']}, {args.runs} runs")
    print(f"docker run --rm (the floor):       {ms(floor):6.0f} ms median")
    with in_process_worker(threads=20):
        step_times("bench_shell", 2) and step_times("bench_container", 2)  # warm up
        shell_times = step_times("bench_shell", args.runs)
        container_times = step_times("bench_container", args.runs)
        overhead = ms(container_times) - ms(shell_times)
        print(f"shell step, trigger → finished:    {ms(shell_times):6.0f} ms median")
        print(f"container step, trigger → finished:{ms(container_times):6.0f} ms median")
        verdict = "ok" if overhead <= 500 else "OVER"
        print(
            f"container over shell:              {overhead:6.0f} ms  (target ≤ 500 ms: {verdict})"
        )
        elapsed, succeeded, left = twenty_at_once(client)
    verdict = "ok" if succeeded == 20 and left == 0 else "FAILED"
    print(
        f"20 at once on one worker:          {elapsed * 1000:6.0f} ms, {succeeded}/20 succeeded, "
        f"{left} container(s) left  (target: 20/20, none left: {verdict})"
    )
    client.close()
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
