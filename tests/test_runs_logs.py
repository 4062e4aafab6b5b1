"""Task logs in-process: each record once, secrets masked in every handler and stream."""

import io
import logging
import sys
import threading
from pathlib import Path

import pytest

from runs.execution.logs import TaskLogWriter, capture_output, install_log_capture
from runs.selectors import task_log
from runs.services import trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"
TOKEN = "s3cr3t-value"


@pytest.fixture
def engine(transactional_db, monkeypatch):
    monkeypatch.setenv("BATON_TEST_TOKEN", TOKEN)
    with use_workflows(WORKFLOWS), in_process_worker(threads=2) as broker:
        yield broker


@pytest.fixture
def project_handler():
    """A handler the project configures on the root logger (a file, a log shipper…)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


@pytest.fixture
def console_on_routed_stderr():
    """A console handler made after the worker booted: its stream is the routed sys.stderr."""
    install_log_capture()
    handler = logging.StreamHandler()
    assert handler.stream is sys.stderr
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)


def run_task(slug: str):
    run = wait_for_run(trigger_run(workflow=Workflow.objects.get(slug=slug), parameters={}))
    assert run.state == "success"
    return run.task_runs.get()


def test_each_way_a_task_speaks_reaches_its_log_once_and_every_handler_masked(
    engine, console_on_routed_stderr, project_handler
):
    log = task_log(task_run=run_task("loud_secret"))
    for line in (
        "WARNING x: named logger says ***",
        "module logger says ***",
        "WARNING baton_test.own_handler: own handler says ***",  # its logger does not propagate
        "print says ***",
        "stderr says ***",
        "ERROR x: caught an error",
        "ValueError: broken with ***",
    ):
        assert log.count(line) == 1, (line, log)
    assert TOKEN not in log
    written = project_handler.getvalue()
    assert "WARNING x: named logger says ***" in written
    assert "ValueError: broken with ***" in written  # the traceback too
    assert TOKEN not in written


def in_another_thread(function) -> None:
    thread = threading.Thread(target=function)
    thread.start()
    thread.join()


def test_other_threads_output_is_masked_while_a_task_runs(project_handler, capsys):
    def elsewhere():
        print(f"printed elsewhere {TOKEN}")
        logging.getLogger("library").warning("logged elsewhere %s", TOKEN)

    writer = TaskLogWriter(task_run_id=0, attempt=1, secrets=[TOKEN])
    with capture_output(writer):
        in_another_thread(elsewhere)
    assert capsys.readouterr().out == "printed elsewhere ***\n"
    assert project_handler.getvalue() == "WARNING library: logged elsewhere ***\n"


class KeepRecords(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_a_record_without_a_secret_keeps_its_template_and_its_exception():
    keep = KeepRecords()
    logger = logging.getLogger("library")
    logger.addHandler(keep)

    def elsewhere():
        try:
            raise ValueError("plain")
        except ValueError:
            logger.exception("failed on %s", "row 3")

    try:
        with capture_output(TaskLogWriter(task_run_id=0, attempt=1, secrets=[TOKEN])):
            in_another_thread(elsewhere)
    finally:
        logger.removeHandler(keep)
    (record,) = keep.records
    assert (record.msg, record.args) == ("failed on %s", ("row 3",))
    assert record.exc_info[0] is ValueError  # error trackers still get the exception


def test_once_the_task_ended_other_output_is_left_alone(capsys):
    writer = TaskLogWriter(task_run_id=0, attempt=1, secrets=[TOKEN])
    with capture_output(writer):
        pass
    print(f"not a secret any more: {TOKEN}")
    assert capsys.readouterr().out == f"not a secret any more: {TOKEN}\n"
