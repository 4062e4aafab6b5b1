"""A worker where no Docker daemon answers hands container steps back, failing nothing."""

import logging
import os
from pathlib import Path

import pytest

from runs.containers import refusal
from runs.containers.backend import DaemonUnreachable
from runs.containers.docker_backend import connect
from runs.models import TaskAttempt, TaskLogChunk
from runs.services import trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
from tests.processes import wait_until
from workflows.models import Workflow

# One xdist worker runs the Docker tests, so that one daemon (of the tests' own) serves them.
pytestmark = pytest.mark.xdist_group("docker")

WORKFLOWS = Path(__file__).parent / "container_workflows"


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """DOCKER_HOST names a socket no daemon listens on."""
    address = f"unix://{tmp_path}/no-daemon.sock"
    monkeypatch.setenv("DOCKER_HOST", address)
    monkeypatch.setattr(refusal, "RECHECK_SECONDS", 0)
    monkeypatch.setattr(refusal, "DOCKER", refusal.DockerAvailability())
    return address


def test_connecting_where_no_daemon_answers_names_the_address(nowhere):
    with pytest.raises(DaemonUnreachable) as caught:
        connect(timeout=1)
    assert str(caught.value).startswith(f"No Docker daemon answers at {nowhere}")


@pytest.fixture
def docker_host(docker_client, busybox_image):
    """The DOCKER_HOST of the tests' daemon (asked for before ``nowhere`` replaces it)."""
    return os.environ["DOCKER_HOST"]


def test_the_step_stays_queued_for_a_worker_with_docker_and_then_runs(
    transactional_db, docker_host, nowhere, settings, monkeypatch, caplog
):
    settings.BATON_CONTAINER_REFUSE_DELAY = 0.2
    with use_workflows(WORKFLOWS), in_process_worker(threads=2):
        run = trigger_run(workflow=Workflow.objects.get(slug="container_output"), parameters={})
        task = run.task_runs.get()
        wait_until(lambda: "cannot run container steps" in caplog.text, 10, "no refusal was logged")
        task.refresh_from_db()
        assert (task.state, task.attempt, task.worker, task.error) == ("queued", 0, "", "")
        assert not TaskAttempt.objects.filter(task_run=task).exists()
        assert not TaskLogChunk.objects.filter(task_run=task).exists()
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1, "the refusal is logged once, not per message"
        assert nowhere in errors[0].getMessage()
        assert "runworker --queues containers" in errors[0].getMessage()

        monkeypatch.setenv("DOCKER_HOST", docker_host)  # Docker is back: the step runs
        run = wait_for_run(run, timeout=20)
    task.refresh_from_db()
    assert (run.state, task.state, task.attempt) == ("success", "success", 1)
