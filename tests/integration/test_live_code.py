"""Live code with real processes: a git push reaches a running worker and scheduler; a run
started before it keeps its own version of the code to the end.
"""

import time

import dramatiq
import pytest

from runs.models import TaskRun
from runs.services import trigger_run
from runs.testing import wait_for_run
from tests.live_repo import GitRepo
from tests.processes import wait_until
from workflows import live, registry
from workflows.models import Workflow

from .conftest import READY, WorkerProcess
from .test_scheduler_processes import SchedulerProcess

INTERVAL = 1.0

DEPLOY_ME = """
import os
import time
from pathlib import Path

from workflows import task, workflow


@task
def wait_for_flag() -> str:
    deadline = time.monotonic() + 60
    while not Path(os.environ["BATON_LIVE_FLAG"]).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never released the run")
        time.sleep(0.05)
    return "released"


@task
def report(flag: str) -> str:
    return "{version}"


@workflow
def deploy_me():
    report(wait_for_flag())
"""

BRAND_NEW = """
from workflows import task, workflow


@task(queue="fresh")  # a queue no worker consumed before the push
def hello() -> str:
    return "new"


@workflow
def brand_new():
    hello()
"""


@pytest.fixture
def repo(tmp_path, settings, transactional_db, redis_url):
    """A git repository as the workflow source of this process and of the ones it starts."""
    repo = GitRepo(tmp_path / "repo")
    settings.BATON_WORKFLOWS_GIT = str(repo.path)
    settings.BATON_WORKFLOWS_GIT_INTERVAL = INTERVAL
    settings.BATON_WORKFLOWS_CACHE = str(tmp_path / "cache-test")
    settings.BATON_WORKFLOWS_DIR = ""
    registry.reset_registry()
    dramatiq.get_broker().flush_all()
    yield repo
    live._live_key = None
    registry.reset_registry()


@pytest.fixture
def live_processes(repo, worker_env, tmp_path):
    """Start a worker (4 threads) or a scheduler reading the repository; all stopped after."""
    started = []

    def start(kind):
        env = {
            **worker_env,
            "BATON_WORKFLOWS_DIR": "",
            "BATON_WORKFLOWS_GIT": str(repo.path),
            "BATON_WORKFLOWS_GIT_INTERVAL": str(INTERVAL),
            "BATON_WORKFLOWS_CACHE": str(tmp_path / f"cache-{kind}"),  # each process its own
            "BATON_LIVE_FLAG": str(tmp_path / "flag"),
        }
        log = tmp_path / f"{kind}.log"
        process = (
            WorkerProcess(env, log, threads=4) if kind == "worker" else SchedulerProcess(env, log)
        )
        started.append(process)
        return process

    yield start
    for process in reversed(started):
        process.stop()


def result(run, task):
    return TaskRun.objects.get(run=run, task_name=task).result


def test_a_push_reaches_the_running_worker_and_a_started_run_keeps_its_code(
    repo, live_processes, tmp_path
):
    v1 = repo.commit({"deploy.py": DEPLOY_ME.format(version="v1")}, "v1: deploy_me")
    worker = live_processes("worker")
    worker.wait_ready()
    scheduler = live_processes("scheduler")
    scheduler.wait_for("Scheduler is the leader")
    wait_until(
        lambda: Workflow.objects.filter(slug="deploy_me").exists(), 10, "v1 was never synced"
    )
    first = trigger_run(workflow=Workflow.objects.get(slug="deploy_me"), parameters={})
    wait_until(
        lambda: first.task_runs.filter(task_name="wait_for_flag", state="running").exists(),
        10,
        "the first task never started",
    )

    pushed_at = time.monotonic()
    v2 = repo.commit(
        {"deploy.py": DEPLOY_ME.format(version="v2"), "new.py": BRAND_NEW},
        "v2: report v2, add brand_new",
        author="Bob Builder <bob@example.com>",
    )
    wait_until(
        lambda: Workflow.objects.filter(slug="brand_new").exists(), 10, "v2 was never synced"
    )
    wait_until(
        lambda: live.live_code().refresh() or registry.get_registry().get("brand_new"),
        10,
        "this process never loaded v2",
    )
    new = wait_for_run(
        trigger_run(workflow=Workflow.objects.get(slug="brand_new"), parameters={}), timeout=20
    )
    reached = time.monotonic() - pushed_at
    print(f"push → new workflow ran on the running worker: {reached:.2f} s (≤ {INTERVAL + 3} s)")

    (tmp_path / "flag").touch()
    first = wait_for_run(first, timeout=20)
    second = wait_for_run(
        trigger_run(workflow=Workflow.objects.get(slug="deploy_me"), parameters={}), timeout=20
    )

    assert (new.state, result(new, "hello")) == ("success", "new")
    assert reached <= INTERVAL + 3
    assert (first.state, result(first, "report")) == ("success", "v1")
    assert (second.state, result(second, "report")) == ("success", "v2")
    assert (first.version.revision, second.version.revision) == (v1, v2)
    assert second.version.commit_author == "Bob Builder <bob@example.com>"
    assert worker.process.poll() is None and scheduler.process.poll() is None
    assert worker.output().count(READY) == 1  # the same worker process did it all
