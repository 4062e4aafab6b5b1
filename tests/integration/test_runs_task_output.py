"""A real worker process and `manage.py trigger --wait`: a task's secret never leaves in clear."""

import subprocess
import sys

import pytest

from runs.selectors import task_log
from runs.services import trigger_run
from runs.testing import wait_for_run
from workflows.models import Workflow

from .conftest import ROOT, SECRET

pytestmark = pytest.mark.integration

SPOKEN = (
    "WARNING x: named logger says ***",
    "module logger says ***",
    "own handler says ***",
    "ERROR x: caught an error",
    "ValueError: broken with ***",
)


def test_the_workers_own_output_masks_what_a_task_logs(loaded, own_worker):
    run = trigger_run(workflow=Workflow.objects.get(slug="loud_secret"), parameters={})
    run = wait_for_run(run, timeout=20)
    assert run.state == "success"
    log = task_log(task_run=run.task_runs.get())
    for line in (*SPOKEN, "print says ***", "stderr says ***"):
        assert log.count(line) == 1, (line, log)
    output = own_worker.output()
    for line in SPOKEN:  # the worker's console still shows the task's records, masked
        assert line in output
    assert SECRET not in output
    assert SECRET not in log


def test_trigger_wait_prints_no_secret(loaded, worker_env):
    env = {**worker_env, "BROKER_URL": ""}  # the command runs the task in its own process
    done = subprocess.run(
        [sys.executable, "manage.py", "trigger", "loud_secret", "--wait"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "  speaks: success in " in done.stdout
    assert "named logger says ***" in done.stderr
    assert SECRET not in done.stdout + done.stderr
