"""`runworker --processes 1`, the image's default: the worker runs in the command's own process.

The dramatiq CLI would start a supervising process above it (~26 MiB resident, only
forwarding signals and logs); for one worker process Baton does without it.
"""

import signal

from runs.services import trigger_run
from runs.testing import wait_for_run
from tests.processes import wait_until
from workflows.models import Workflow


def test_the_task_runs_in_the_process_runworker_started(loaded, own_worker):
    run = trigger_run(workflow=Workflow.objects.get(slug="long_python"), parameters={"seconds": 0})

    run = wait_for_run(run, timeout=15)

    assert run.state == "success"
    assert run.task_runs.get().worker.endswith(f":{own_worker.process.pid}")


def test_a_second_sigterm_stops_it_at_once(loaded, own_worker):
    run = trigger_run(workflow=Workflow.objects.get(slug="long_python"), parameters={"seconds": 60})
    wait_until(lambda: run.task_runs.filter(state="running").exists(), 15, "no task started")

    own_worker.process.send_signal(signal.SIGTERM)  # waits for the running task
    own_worker.wait_for("Stopping worker process...")
    own_worker.process.send_signal(signal.SIGTERM)

    assert own_worker.process.wait(timeout=10) == 1
    assert "Killing worker process..." in own_worker.output()


def test_sighup_stops_it_cleanly_for_its_supervisor_to_start_again(loaded, own_worker):
    own_worker.process.send_signal(signal.SIGHUP)

    assert own_worker.process.wait(timeout=15) == 0
    assert "Worker has been shut down." in own_worker.output()
