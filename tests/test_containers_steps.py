"""Container steps on a real Docker daemon (tests/docker_daemon.py) and a busybox image.

One daemon and one image serve the whole session; each test runs a workflow of
tests/container_workflows/ with an in-process worker and checks what a user sees
(the task's state, error, result and log) and that no container is left behind.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from docker.api.client import APIClient

from runs.containers.backend import DaemonUnreachable
from runs.containers.docker_backend import DockerBackend
from runs.models import TaskRun
from runs.selectors import task_log
from runs.services import cancel_run, trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
from tests.processes import wait_until
from workflows.models import Workflow

# One xdist worker runs the Docker tests, so that one daemon (of the tests' own) serves them.
pytestmark = pytest.mark.xdist_group("docker")

WORKFLOWS = Path(__file__).parent / "container_workflows"
BARE_IMAGE = "baton-test/busybox-without-baton:1"
TOKEN = "c0ntainer-s3cret"


@pytest.fixture
def engine(transactional_db, docker_client, busybox_image, settings, monkeypatch):
    monkeypatch.setenv("BATON_TEST_TOKEN", TOKEN)
    settings.BATON_KILL_GRACE_SECONDS = 1
    with use_workflows(WORKFLOWS), in_process_worker(threads=4):
        yield docker_client
    assert baton_containers(docker_client) == [], "a container was left behind"


def baton_containers(client) -> list:
    return client.containers.list(all=True, filters={"label": "baton.task_run"})


def run_of(slug: str, timeout: float = 20, **parameters):
    run = trigger_run(workflow=Workflow.objects.get(slug=slug), parameters=parameters)
    return wait_for_run(run, timeout=timeout)


def test_output_reaches_the_log_and_a_parameter_the_environment(engine):
    run = run_of("container_output", greeting="bonjour")
    task = run.task_runs.get()
    assert (run.state, task.state) == ("success", "success")
    log = task_log(task_run=task)
    assert "line one" in log
    assert "to stderr" in log
    assert "param=bonjour arg=bonjour" in log
    assert task.result == "param=bonjour arg=bonjour"  # the last line of stdout
    assert task.image_digest.startswith("sha256:")


def test_the_run_page_shows_the_image_digest_the_attempt_ran(engine, admin_client):
    run = run_of("container_output")
    digest = engine.images.get("baton-test/busybox:1").id
    page = admin_client.get(reverse("runs:detail", args=[run.pk])).content.decode()
    assert f"Image <code>{digest}</code>" in page


def test_an_upstream_result_is_an_argument(engine):
    run = run_of("container_upstream")
    assert run.task_runs.get(task_name="show").result == "rows: 42"


def test_a_non_zero_exit_fails_the_task_with_its_code(engine):
    task = run_of("container_exit").task_runs.get()
    assert task.state == "failed"
    assert task.error.startswith("Exited with code 3.")
    assert "about to fail" in task.error


def test_a_timeout_stops_the_container(engine):
    task = run_of("container_timeout").task_runs.get()
    assert task.state == "failed"
    assert task.error == "Timed out after 1 s."
    assert task.finished_at - task.started_at < timedelta(seconds=8)


def test_cancel_stops_the_container(engine):
    run = trigger_run(workflow=Workflow.objects.get(slug="container_long"), parameters={})
    wait_until(
        lambda: "started" in task_log(task_run=run.task_runs.get()), 20, "the step did not start"
    )
    assert len(baton_containers(engine)) == 1
    cancel_run(run=run, user=None)
    task = run.task_runs.get()
    wait_until(lambda: task_state(task) == "cancelled", 15, "the task was not stopped")
    task.refresh_from_db()
    assert task.error == "Cancelled: the run was cancelled."
    wait_until(lambda: not baton_containers(engine), 10, "the container is still there")


def task_state(task) -> str:
    task.refresh_from_db(fields=["state"])
    return task.state


def test_a_secret_reaches_the_container_but_not_the_log_nor_the_result(engine):
    task = run_of("container_secret").task_runs.get()
    assert task.state == "success"
    log = task_log(task_run=task)
    assert "token is ***" in log
    assert TOKEN not in log
    assert task.result == "token is ***"


def test_the_result_is_the_json_the_step_writes(engine):
    task = run_of("container_result_file").task_runs.get()
    assert task.state == "success"
    assert task.result == {"rows": 3, "ok": True}


@pytest.fixture
def image_without_folder(docker_client, busybox_image):
    """The busybox image without its /baton folder, as most images are."""
    if not docker_client.images.list(name=BARE_IMAGE):
        maker = docker_client.containers.create(busybox_image, ["busybox", "rmdir", "/baton"])
        try:
            maker.start()
            maker.wait()
            maker.commit(*BARE_IMAGE.split(":"))
        finally:
            maker.remove(force=True)
    return BARE_IMAGE


@pytest.mark.parametrize(("slug", "uid"), [("root", "0"), ("nobody", "65534")])
def test_any_user_may_write_the_result_on_an_image_without_the_folder(
    engine, image_without_folder, slug, uid
):
    task = run_of(f"container_result_as_{slug}").task_runs.get()
    assert (task.state, task.error) == ("success", "")
    assert task.result == {"user": uid}


def test_a_missing_image_fails_at_once_naming_it(engine):
    task = run_of("container_missing_image").task_runs.get()
    assert task.state == "failed"
    assert task.attempt == 1  # not retried, though the step allows 2 retries
    assert "Image 'baton-test/missing:1' is not on this machine" in task.error
    assert "Image 'baton-test/missing:1'" in task_log(task_run=task)


def test_out_of_memory_says_so_with_the_limit(engine):
    task = run_of("container_out_of_memory").task_runs.get()
    assert task.state == "failed"
    assert "out of memory (limit 8 MiB)" in task.error


def test_a_sigkill_docker_did_not_flag_under_a_memory_limit_names_the_limit(engine, monkeypatch):
    # As when the container is killed before containerd watches its memory: no OOM flag.
    real = APIClient.inspect_container

    def oom_flag_lost(client, container):
        found = real(client, container)
        found["State"]["OOMKilled"] = False
        return found

    monkeypatch.setattr(APIClient, "inspect_container", oom_flag_lost)
    task = run_of("container_out_of_memory").task_runs.get()
    assert task.error.startswith(
        "Exited with code 137 (killed by SIGKILL). It may have run out of memory (limit 8 MiB): "
        "Docker does not always say so."
    )


def test_the_containers_carry_the_attempt_labels(engine):
    run = trigger_run(workflow=Workflow.objects.get(slug="container_long"), parameters={})
    wait_until(lambda: baton_containers(engine), 20, "no container started")
    labels = baton_containers(engine)[0].labels
    task = TaskRun.objects.get(run=run)
    assert labels["baton.run"] == str(run.pk)
    assert labels["baton.task"] == "long"
    assert labels["baton.task_run"] == str(task.pk)
    assert labels["baton.attempt"] == "1"
    assert labels["baton.worker"].rsplit(":", 1)[1].isdigit()
    cancel_run(run=run, user=None)
    wait_until(lambda: task_state(task) == "cancelled", 15, "the task was not stopped")


def test_a_daemon_lost_mid_step_fails_the_attempt_saying_so(engine, monkeypatch):
    def lost(self, container):
        raise DaemonUnreachable("The Docker daemon at unix:///x stopped answering: EOF")

    monkeypatch.setattr(DockerBackend, "wait", lost)
    task = run_of("container_long").task_runs.get()
    assert task.state == "failed"
    assert task.error == "The Docker daemon at unix:///x stopped answering: EOF"
