"""A worker process killed outright (SIGKILL) mid-task: the database keeps the evidence.

In a module of its own, so that no other worker process is around to take the task.
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from runs.services import trigger_run
from workflows.models import Workflow

pytestmark = pytest.mark.integration


def wait_for_heartbeats(run, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = run.task_runs.get()
        if task.heartbeat_at and task.heartbeat_at > task.started_at + timedelta(seconds=0.4):
            return task
        time.sleep(0.02)
    raise AssertionError(f"no heartbeat after the start: {task.state} {task.heartbeat_at}")


def is_dead(pid: int, timeout: float = 2.0) -> bool:
    """Gone, or a zombie nobody reaped yet (its parent was killed too)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def test_a_worker_killed_mid_task_leaves_it_running_with_a_stale_heartbeat(loaded, own_worker):
    run = trigger_run(workflow=Workflow.objects.get(slug="long_python"), parameters={})
    task = wait_for_heartbeats(run)
    own_worker.kill()
    assert is_dead(int(task.worker.rsplit(":", 1)[1]))  # the process that ran it
    task.refresh_from_db()
    beat = task.heartbeat_at  # the last one, from before the kill
    while timezone.now() - beat <= timedelta(seconds=1.5):  # three heartbeat intervals
        task.refresh_from_db()
        assert task.heartbeat_at == beat, "a heartbeat after the worker was killed"
        time.sleep(0.05)
    task.refresh_from_db()
    assert task.state == "running"
    assert timezone.now() - task.heartbeat_at > timedelta(seconds=1)
    run.refresh_from_db()
    assert run.state == "running"
