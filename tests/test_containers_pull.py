"""Pulling images: one a registry does not have fails at once; a registry out of reach is retried.

The registry is a few lines of http.server on 127.0.0.1 (Docker allows plain HTTP there)
answering "manifest unknown" for every image, as a real registry does for a missing one.
"""

import http.server
import json
import socket
import textwrap
import threading

import pytest

from runs.selectors import task_log
from runs.services import trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
from workflows.models import Workflow

# One xdist worker runs the Docker tests, so that one daemon (of the tests' own) serves them.
pytestmark = pytest.mark.xdist_group("docker")

STEPS = """
from datetime import timedelta

from workflows import container, workflow


@workflow
def pull_missing():
    container("pull", "{registry}/baton-test/missing:1", ["true"], retries=2)


@workflow
def pull_unreachable():
    container("pull", "{unreachable}/baton-test/missing:1", ["true"], retries=1,
              retry_delay=timedelta(milliseconds=10))
"""


class EmptyRegistry(http.server.BaseHTTPRequestHandler):
    """A registry holding no image at all."""

    def do_GET(self):
        found = self.path == "/v2/"
        body = {} if found else {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "unknown"}]}
        data = json.dumps(body).encode()
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command == "GET":
            self.wfile.write(data)

    do_HEAD = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def registry():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EmptyRegistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def engine(transactional_db, docker_client, tmp_path, registry):
    code = STEPS.format(registry=registry, unreachable=f"127.0.0.1:{closed_port()}")
    (tmp_path / "pulls.py").write_text(textwrap.dedent(code))
    with use_workflows(tmp_path), in_process_worker(threads=2):
        yield


def run_of(slug: str):
    run = trigger_run(workflow=Workflow.objects.get(slug=slug), parameters={})
    return wait_for_run(run, timeout=20)


def test_an_image_the_registry_does_not_have_fails_at_once_naming_it(engine, registry):
    task = run_of("pull_missing").task_runs.get()
    image = f"{registry}/baton-test/missing:1"
    assert (task.state, task.attempt) == ("failed", 1)  # not retried, though it may be twice
    assert task.error.startswith(f"Image '{image}' does not exist")
    assert f"Pulling image {image}" in task_log(task_run=task)


def test_a_registry_out_of_reach_is_retried(engine):
    task = run_of("pull_unreachable").task_runs.get()
    assert (task.state, task.attempt) == ("failed", 2)
    assert task.error.startswith("Could not pull image '127.0.0.1:")
