"""Isolated tasks in a real worker process: built there, secrets masked, dying with it."""

import dramatiq
import pytest

from runs.models import TaskRun
from runs.selectors import task_log
from runs.services import trigger_run
from runs.testing import use_workflows, wait_for_run
from tests.processes import wait_until
from workflows.models import Workflow

from .conftest import ROOT, SECRET, WorkerProcess
from .test_runs_worker_death import is_dead

pytestmark = pytest.mark.integration

ENV_WORKFLOWS = ROOT / "tests" / "environment_workflows"


@pytest.fixture
def isolated_worker(worker_env, wheelhouse, tmp_path, processes):
    env = {
        **worker_env,
        "BATON_WORKFLOWS_DIR": str(ENV_WORKFLOWS),
        "BATON_ENV_DIR": str(tmp_path / "envs"),
        "BATON_PIP_FIND_LINKS": str(wheelhouse),
        "BATON_PIP_INDEX_URL": "",
    }
    worker = processes(WorkerProcess, env, "worker")
    worker.wait_ready()
    return worker


@pytest.fixture
def env_workflows(transactional_db, redis_url, monkeypatch):
    monkeypatch.setenv("BATON_TEST_TOKEN", SECRET)
    broker = dramatiq.get_broker()
    broker.declare_queue("default")
    broker.flush_all()
    with use_workflows(ENV_WORKFLOWS):
        yield


def start(slug: str):
    return trigger_run(workflow=Workflow.objects.get(slug=slug), parameters={})


def test_a_worker_process_builds_the_environment_and_masks_the_secret(
    env_workflows, isolated_worker
):
    run = wait_for_run(start("environment_context"), timeout=60)
    described = run.task_runs.get(task_name="describe")
    assert run.state == "success", described.error
    assert described.result["six"] == "1.16.0"
    log = task_log(task_run=described)
    assert "Preparing environment " in log and "the token is ***" in log
    assert SECRET not in log
    assert SECRET not in isolated_worker.output()


def test_the_task_process_dies_with_its_worker(env_workflows, isolated_worker):
    run = start("isolated_sleep")
    task = run.task_runs.get()

    def printed_pid():
        return "pid " in task_log(task_run=TaskRun.objects.get(pk=task.pk))

    wait_until(printed_pid, timeout=60, message="the isolated task printed no pid")
    line = next(
        line
        for line in task_log(task_run=TaskRun.objects.get(pk=task.pk)).splitlines()
        if line.startswith("pid ")
    )
    isolated_worker.kill()
    assert is_dead(int(line.split()[1]), timeout=5)
