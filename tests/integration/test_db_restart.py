"""PostgreSQL restarted or stopped under real workers: nothing is lost, nothing runs twice.

The workers, the scheduler and this process all use a PostgreSQL server of the
test's own (``own_postgres``), which the test restarts. Each task body notes
its start and end in a file, so a body run twice shows.
"""

import time
from collections import Counter
from pathlib import Path

import pytest

from runs.models import TaskAttempt
from runs.services import trigger_run
from runs.testing import wait_for_run
from tests.processes import wait_until
from workflows.models import Workflow

from .conftest import WorkerProcess
from .own_postgres import answering
from .test_scheduler_processes import SchedulerProcess

pytestmark = pytest.mark.integration

TASKS = {f"mark_{n}" for n in range(4)}
UNREACHABLE = "Database unreachable, retrying"
OUTAGE_SECONDS = 3


@pytest.fixture
def fault_env(worker_env, on_own_postgres):
    return {
        **worker_env,
        "DATABASE_URL": on_own_postgres.url(),
        # Short, so that a task left running without heartbeats would be retried in the test.
        "BATON_HEARTBEAT_TIMEOUT": "4",
        "BATON_QUEUED_TIMEOUT": "5",
    }


def lines(path: Path, word: str) -> Counter:
    text = path.read_text() if path.exists() else ""
    return Counter(line.split()[1] for line in text.splitlines() if line.startswith(word))


def start_four_marks(marks: Path, seconds: float):
    workflow = Workflow.objects.get(slug="four_marks")
    run = trigger_run(workflow=workflow, parameters={"marks": str(marks), "seconds": seconds})
    wait_until(lambda: set(lines(marks, "start")) == TASKS, 15, "the four tasks did not start")
    return run


def assert_each_ran_once(run, marks: Path) -> None:
    run = answering(lambda: wait_for_run(run, timeout=30))
    assert run.state == "success"
    states = dict(run.task_runs.values_list("task_name", "state"))
    assert states == dict.fromkeys(TASKS, "success")
    assert lines(marks, "start") == Counter(TASKS)  # each body ran exactly once
    assert lines(marks, "done") == Counter(TASKS)
    assert set(run.task_runs.values_list("attempt", flat=True)) == {1}
    assert not TaskAttempt.objects.filter(task_run__run=run).exists()


def test_tasks_running_through_a_restart_are_recorded_once(
    on_own_postgres, fault_env, processes, tmp_path
):
    worker = processes(WorkerProcess, fault_env, "worker", threads=4)
    scheduler = processes(SchedulerProcess, fault_env, "scheduler")
    worker.wait_ready()
    scheduler.wait_for("Scheduler is the leader")
    marks = tmp_path / "marks.txt"
    run = start_four_marks(marks, seconds=1.5)

    # Every connection of every process is cut while the four bodies run.
    on_own_postgres.restart()

    assert_each_ran_once(run, marks)
    assert scheduler.process.poll() is None
    assert "Traceback" not in worker.output()


def test_a_longer_outage_is_waited_out_with_one_warning(
    on_own_postgres, fault_env, processes, tmp_path
):
    worker = processes(WorkerProcess, fault_env, "worker", threads=4)
    worker.wait_ready()
    marks = tmp_path / "marks.txt"
    run = start_four_marks(marks, seconds=0.5)

    on_own_postgres.stop()
    stopped = time.monotonic()
    # The bodies end while the database is down: their outcome waits for it.
    wait_until(lambda: set(lines(marks, "done")) == TASKS, 10, "the bodies did not end")
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))  # the outage itself
    on_own_postgres.start()

    assert_each_ran_once(run, marks)
    output = worker.output()
    assert output.count(UNREACHABLE) == 1, output
    assert output.count("Database back after") == 1, output
    assert "Traceback" not in output
