"""A worker SIGKILLed mid-step leaves its container running; the next worker started on the
machine removes it, and the retry is the only attempt that finishes the work.

The step appends "start <attempt>" to a file of a mounted folder, sleeps (the first
attempt only), then appends "done <attempt>". The first worker is killed while its
container sleeps: a second worker starting removes that container before it can write
"done 1"; the scheduler's sweep sees the silent heartbeat and the second worker runs the
retry to its end.
"""

import os
import textwrap
import time

import dramatiq
import pytest
from django.utils import timezone

from runs.recovery import sweep
from runs.services import trigger_run
from runs.testing import use_workflows
from tests.processes import wait_until
from workflows.models import Workflow

from .conftest import WorkerProcess

pytestmark = pytest.mark.integration

NAP = 30  # seconds the first attempt sleeps: its container is removed well within it

STEPS = """
from datetime import timedelta

from workflows import container, workflow

OUT = '"$BATON_ATTEMPT" >> /out/steps.txt'
BODY = f'echo start {{OUT}}; [ "$BATON_ATTEMPT" = 1 ] && sleep {nap}; echo done {{OUT}}'


@workflow
def killed_container():
    container("nap", "{image}", ["sh", "-c", BODY], mounts=["{out}:/out"], retries=1,
              retry_delay=timedelta(milliseconds=100))
"""


@pytest.fixture
def folder(tmp_path, busybox_image):
    (tmp_path / "workflows").mkdir()
    (tmp_path / "out").mkdir()
    code = STEPS.format(nap=NAP, image=busybox_image, out=tmp_path / "out")
    (tmp_path / "workflows" / "killed.py").write_text(textwrap.dedent(code))
    return tmp_path


@pytest.fixture
def loaded(transactional_db, redis_url, folder, docker_client):
    broker = dramatiq.get_broker()
    broker.declare_queue("containers")
    broker.flush_all()
    with use_workflows(folder / "workflows"):
        yield


def containers_of(client, run) -> list:
    # sparse: the list's own answer; not sparse, the SDK inspects each container after the
    # list, and one removed in between (what this test waits for) raises NotFound.
    filters = {"label": f"baton.run={run.pk}"}
    return client.containers.list(all=True, filters=filters, sparse=True)


def lines(folder) -> list[str]:
    path = folder / "out" / "steps.txt"
    return path.read_text().splitlines() if path.exists() else []


def test_the_container_of_a_killed_worker_is_removed_and_its_retry_alone_finishes(
    loaded, folder, worker_env, docker_client, processes, settings
):
    settings.BATON_HEARTBEAT_TIMEOUT = 1
    env = {
        **worker_env,
        "BATON_WORKFLOWS_DIR": str(folder / "workflows"),
        "DOCKER_HOST": os.environ["DOCKER_HOST"],
    }
    first = processes(WorkerProcess, env, "first")
    first.wait_ready()
    run = trigger_run(workflow=Workflow.objects.get(slug="killed_container"), parameters={})
    wait_until(lambda: lines(folder) == ["start 1"], 20, "the step did not start")
    first.kill()
    assert [c.status for c in containers_of(docker_client, run)] == ["running"]

    second = processes(WorkerProcess, env, "second")
    second.wait_ready()
    wait_until(
        lambda: not containers_of(docker_client, run), 10, "the dead worker's container stays"
    )
    # The worker logs each removal just after it: its line may reach the output a moment later.
    wait_until(lambda: "Removed container" in second.output(), 5, "the removal is not logged")

    deadline = time.monotonic() + 30
    while run.state not in ("success", "failed") and time.monotonic() < deadline:
        sweep(timezone.now())  # the scheduler's: it retries the attempt of the dead worker
        run.refresh_from_db()
        time.sleep(0.2)
    task = run.task_runs.get()
    assert (run.state, task.state, task.attempt) == ("success", "success", 2)
    assert lines(folder) == ["start 1", "start 2", "done 2"]
    assert not containers_of(docker_client, run)
