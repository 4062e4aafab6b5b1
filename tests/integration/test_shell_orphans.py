"""Shell steps die with their worker: SIGKILL a worker mid-step, and no orphan finishes the work.

Each of three shell steps appends "start" to a file, sleeps, then appends "done". The
worker is killed while all three sleep; the scheduler's sweep sees the silent
heartbeats and retries them on a second worker. Every attempt starts once, and only
the retries get to "done": an orphan of the first worker finishing beside its retry
would write a second "done".
"""

import contextlib
import os
import signal
import subprocess
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import dramatiq
import pytest
from django.utils import timezone

from runs.execution.shell_task import start_guarded
from runs.recovery import sweep
from runs.services import trigger_run
from runs.testing import use_workflows
from tests.processes import wait_until
from workflows.models import Workflow

from .conftest import WorkerProcess

pytestmark = pytest.mark.integration

NAP = 3  # seconds each attempt sleeps; the first ones are killed well within it

STEPS = """
from datetime import timedelta

from workflows import shell, workflow

LINE = '"$BATON_TASK $BATON_ATTEMPT $$" >> "$OUT"'
BODY = f"echo start {{LINE}}; sleep {nap}; echo done {{LINE}}"


@workflow
def three_shell_steps(out: str):
    for n in (1, 2, 3):
        shell(f"step{{n}}", ["sh", "-c", BODY], env={{"OUT": out}}, retries=1,
              retry_delay=timedelta(milliseconds=100))
"""


@pytest.fixture
def steps_folder(tmp_path):
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "orphans.py").write_text(textwrap.dedent(STEPS.format(nap=NAP)))
    return folder


@pytest.fixture
def steps_loaded(transactional_db, redis_url, steps_folder):
    broker = dramatiq.get_broker()
    broker.declare_queue("default")
    broker.flush_all()
    with use_workflows(steps_folder):
        yield


def start_worker(worker_env, steps_folder, log_path) -> WorkerProcess:
    worker = WorkerProcess({**worker_env, "BATON_WORKFLOWS_DIR": str(steps_folder)}, log_path)
    worker.wait_ready()
    return worker


def lines_of(path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


def wait_for_starts(path, count, timeout=20.0) -> list[list[str]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        starts = [line for line in lines_of(path) if line[0] == "start"]
        if len(starts) >= count:
            return starts
        time.sleep(0.02)
    raise AssertionError(f"the steps did not start: {lines_of(path)}")


def live_members(pgid: int) -> list[int]:
    """The processes of the group that still run (zombies wait for init to reap them)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
                members.append(int(stat.parent.name))
    return members


def reaped(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def sweep_until_finished(run, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sweep(timezone.now())
        run.refresh_from_db()
        if run.state in ("success", "failed", "cancelled"):
            return run
        time.sleep(0.2)
    tasks = {t.task_name: (t.state, t.attempt) for t in run.task_runs.all()}
    raise AssertionError(f"run still {run.state}: {tasks}")


def test_shell_steps_die_with_their_worker_and_each_attempt_runs_once(
    steps_loaded, steps_folder, worker_env, settings, tmp_path
):
    settings.BATON_HEARTBEAT_TIMEOUT = 1
    out = tmp_path / "steps.txt"
    first = start_worker(worker_env, steps_folder, tmp_path / "first.log")
    second = None
    groups = []
    try:
        run = trigger_run(
            workflow=Workflow.objects.get(slug="three_shell_steps"), parameters={"out": str(out)}
        )
        starts = wait_for_starts(out, 3)
        groups = [os.getpgid(int(pid)) for _, _, _, pid in starts]
        first.kill()

        # Dead within moments (well before the steps' sleep would end), then reaped.
        wait_until(
            lambda: not any(live_members(g) for g in groups), 2.0, "the steps outlived their worker"
        )
        second = start_worker(worker_env, steps_folder, tmp_path / "second.log")
        wait_until(lambda: all(reaped(g) for g in groups), 10.0, "the steps were never reaped")
        run = sweep_until_finished(run)
        assert run.state == "success"
        lines = lines_of(out)
        assert Counter((what, task, attempt) for what, task, attempt, _ in lines) == {
            **{("start", f"step{n}", "1"): 1 for n in (1, 2, 3)},
            **{("start", f"step{n}", "2"): 1 for n in (1, 2, 3)},
            **{("done", f"step{n}", "2"): 1 for n in (1, 2, 3)},
        }
    finally:
        for pgid in groups:  # only if the test failed: leave no orphan behind
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        first.stop()
        if second is not None:
            second.stop()


def test_a_step_outlives_the_worker_thread_that_started_it():
    """PR_SET_PDEATHSIG also fires when only the forking thread ends: the guard ignores that."""
    started = []

    def start():
        started.append(start_guarded(["sleep", "30"], env=dict(os.environ), cwd=None))

    thread = threading.Thread(target=start)
    thread.start()
    thread.join()
    (process,) = started
    try:
        with pytest.raises(subprocess.TimeoutExpired):  # still running half a second later
            process.wait(timeout=0.5)
        assert live_members(process.pid) != []
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
