"""Left-over containers: removed by the recovery sweep and at a worker's start, and only those."""

import socket
import subprocess
from pathlib import Path

import pytest
from django.utils import timezone

from runs.containers.cleanup import remove_leftover_containers
from runs.containers.labels import instance_labels
from runs.models import TaskRun
from runs.recovery import sweep
from runs.services import trigger_run
from runs.testing import stub_broker, use_workflows
from workflows.models import Workflow

# One xdist worker runs the Docker tests, so that one daemon (of the tests' own) serves them.
pytestmark = pytest.mark.xdist_group("docker")

WORKFLOWS = Path(__file__).parent / "container_workflows"


@pytest.fixture
def world(transactional_db, docker_client, busybox_image):
    with use_workflows(WORKFLOWS), stub_broker():
        run = trigger_run(workflow=Workflow.objects.get(slug="container_output"), parameters={})
        yield run.task_runs.get()
    for container in docker_client.containers.list(all=True, filters={"label": "baton.task_run"}):
        container.remove(force=True)


def running(task: TaskRun, *, attempt: int = 1, worker: str = "elsewhere:1") -> TaskRun:
    now = timezone.now()
    TaskRun.objects.filter(pk=task.pk).update(
        state="running", attempt=attempt, worker=worker, started_at=now, heartbeat_at=now
    )
    return task


def leftover(client, image, task: TaskRun, *, attempt: int, worker="elsewhere:1", **labels):
    labels = {
        **instance_labels(),
        "baton.task_run": str(task.pk),
        "baton.attempt": str(attempt),
        "baton.worker": worker,
        **labels,
    }
    container = client.containers.create(image, ["sleep", "60"], labels=labels, network_mode="none")
    container.start()
    return container.id


def still_there(client) -> set[str]:
    return {c.id for c in client.containers.list(all=True, filters={"label": "baton.task_run"})}


def test_the_sweep_removes_containers_whose_attempt_no_longer_runs(
    world, docker_client, busybox_image
):
    running(world, attempt=2)
    earlier = leftover(docker_client, busybox_image, world, attempt=1)  # a retry replaced it
    current = leftover(docker_client, busybox_image, world, attempt=2)
    foreign = leftover(
        docker_client, busybox_image, world, attempt=1, **{"baton.instance": "another-baton"}
    )
    done = sweep(timezone.now())
    assert done["containers_removed"] == 1
    assert still_there(docker_client) == {current, foreign}
    assert earlier not in still_there(docker_client)

    TaskRun.objects.filter(pk=world.pk).update(state="success")
    assert sweep(timezone.now())["containers_removed"] == 1
    assert still_there(docker_client) == {foreign}  # another Baton's containers are its own


def test_a_worker_start_removes_those_of_dead_workers_of_this_machine(
    world, docker_client, busybox_image
):
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead_here = f"{socket.gethostname()}:{gone.pid}"
    running(world, worker=dead_here)
    of_dead_worker = leftover(docker_client, busybox_image, world, attempt=1, worker=dead_here)
    alive_elsewhere = leftover(docker_client, busybox_image, world, attempt=1)

    assert remove_leftover_containers() == 0  # its attempt still runs, as far as the DB knows
    assert remove_leftover_containers(at_worker_start=True) == 1
    assert still_there(docker_client) == {alive_elsewhere}
    assert of_dead_worker not in still_there(docker_client)
