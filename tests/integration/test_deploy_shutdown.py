"""SIGTERM (`docker stop`, a rolling update) stops each service cleanly, on Redis and PostgreSQL.

The leading scheduler hands its leadership over at once; a worker finishes the task it
runs before it exits. Both say they are alive to `manage.py healthcheck` while they run,
and take their heartbeat row with them when they go.
"""

import signal
import subprocess
import sys

from runs.presence import ProcessHeartbeat
from runs.services import trigger_run
from runs.testing import wait_for_run
from tests.processes import ROOT, wait_until
from workflows.models import Workflow

from .conftest import WorkerProcess
from .test_scheduler_processes import SchedulerProcess


def stop_like_docker(process) -> None:
    """SIGTERM to the service's main process only, as `docker stop` (through tini) sends it.

    Not to its whole process group: Dramatiq's worker processes take a second SIGTERM (their
    main process forwards the first) as "kill now".
    """
    process.process.send_signal(signal.SIGTERM)
    process.process.wait(timeout=30)


def healthcheck(service: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "healthcheck", service],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_stopped_leader_hands_over_at_once_and_leaves_no_heartbeat(loaded, worker_env, processes):
    first = processes(SchedulerProcess, worker_env, "first")
    first.wait_for("Scheduler is the leader")
    second = processes(SchedulerProcess, worker_env, "second")
    second.wait_for("Scheduler started")
    wait_until(lambda: ProcessHeartbeat.objects.filter(kind="scheduler").count() == 2, 10, "beats")
    alive = healthcheck("scheduler", worker_env)
    assert alive.returncode == 0, alive.stderr
    assert "(leader)" in alive.stdout and "(standby)" in alive.stdout

    stop_like_docker(first)

    assert first.process.returncode == 0
    assert "Scheduler stopped" in first.output()
    second.wait_for("Scheduler is the leader", timeout=5)
    (left,) = ProcessHeartbeat.objects.filter(kind="scheduler")
    assert left.pid == second.process.pid


def test_a_stopped_worker_finishes_its_task_first(loaded, worker_env, processes):
    worker = processes(WorkerProcess, worker_env, "worker", threads=1)
    worker.wait_ready()
    wait_until(lambda: ProcessHeartbeat.objects.filter(kind="worker").exists(), 10, "no beat")
    alive = healthcheck("worker", worker_env)
    assert alive.returncode == 0, alive.stderr
    assert "(queues: default" in alive.stdout
    run = trigger_run(workflow=Workflow.objects.get(slug="long_python"), parameters={"seconds": 2})
    wait_until(lambda: run.task_runs.filter(state="running").exists(), 10, "no task started")

    stop_like_docker(worker)

    try:
        run = wait_for_run(run, timeout=5)  # already over: the worker waited for it
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{worker.output()}") from None
    assert (run.state, run.task_runs.get().state) == ("success", "success")
    assert worker.process.returncode == 0
    assert not ProcessHeartbeat.objects.filter(kind="worker").exists()
    gone = healthcheck("worker", worker_env)
    assert gone.returncode == 1
    assert "no worker process on this host has sent a heartbeat" in gone.stderr
