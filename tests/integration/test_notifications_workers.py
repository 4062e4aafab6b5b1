"""Notifications sent by real worker processes: within 5 s of the failure, once per event."""

import hashlib
import hmac
from collections import Counter
from datetime import datetime

import pytest

from runs.notifications.models import Channel, Notification
from runs.services import trigger_run
from runs.testing import wait_for_run
from tests.notification_servers import HookServer
from tests.processes import wait_until
from workflows.models import Workflow

from .conftest import WorkerProcess

pytestmark = pytest.mark.integration

SECRET = "integration-hook-secret"
RUNS = 4
TARGET_SECONDS = 5.0


def test_two_workers_send_each_failure_once_within_five_seconds(loaded, worker_env, processes):
    with HookServer() as hooks:
        Channel.objects.create(name="test-hook", kind="webhook", url=hooks.url, secret=SECRET)
        workers = [processes(WorkerProcess, worker_env, f"worker{n}") for n in (1, 2)]
        for worker in workers:
            worker.wait_ready()
        workflow = Workflow.objects.get(slug="nightly_load")
        runs = [trigger_run(workflow=workflow, parameters={}) for _ in range(RUNS)]
        runs = [wait_for_run(run, timeout=20) for run in runs]
        assert {run.state for run in runs} == {"failed"}
        wait_until(lambda: len(hooks.posts) >= RUNS, 10, f"posts: {len(hooks.posts)}")
        wait_until(
            lambda: Notification.objects.filter(state="sent").count() == RUNS,
            5,
            "the senders did not record every delivery",
        )

        by_run = Counter(post.json()["run"]["id"] for post in hooks.posts)
        assert by_run == Counter({run.pk: 1 for run in runs})  # one message per failure
        delays = []
        for post in hooks.posts:
            expected = hmac.new(SECRET.encode(), post.body, hashlib.sha256).hexdigest()
            assert post.headers["X-Baton-Signature"] == f"sha256={expected}"
            finished = datetime.fromisoformat(post.json()["run"]["finished_at"])
            delays.append(post.at - finished.timestamp())
        print(f"failure → message: worst {max(delays):.2f} s (target {TARGET_SECONDS} s)")
        assert max(delays) < TARGET_SECONDS
        assert "loaded row 29" in hooks.posts[0].json()["text"]
