"""Small faults around a worker's writes: a lost commit answer, a broker that is down."""

import logging

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from runs import dispatch
from runs.execution.logs import TaskLogWriter
from runs.models import TaskLogChunk, TaskRun
from tests.pages_world import make_run
from workflows.models import Workflow


@pytest.fixture
def task_run(db):
    workflow = Workflow.objects.create(slug="chunks", title="Chunks")
    run = make_run(workflow, state="running", tasks={"extract": "running"})
    return TaskRun.objects.get(run=run, task_name="extract")


def test_a_log_chunk_whose_commit_answer_was_lost_is_not_stored_twice(task_run):
    writer = TaskLogWriter(task_run_id=task_run.pk, attempt=1)
    # The first insert committed, but the worker never heard back (a database restart).
    TaskLogChunk.objects.create(task_run=task_run, attempt=1, seq=0, text="first line\n")
    writer.write("first line\n")
    writer.flush()
    writer.write("second line\n")
    writer.flush()
    chunks = TaskLogChunk.objects.filter(task_run=task_run).order_by("seq")
    assert [(c.seq, c.text) for c in chunks] == [(0, "first line\n"), (1, "second line\n")]


def test_a_message_redis_refuses_after_commit_is_logged_not_raised(task_run, monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(dispatch, "send_task_run", refuse)
    with caplog.at_level(logging.ERROR, logger="runs.dispatch"):
        dispatch._send_all([(task_run.pk, "default")], None)  # the on-commit callback
    assert f"Could not enqueue task run {task_run.pk}" in caplog.text
    # Committed already: the row stays as it was, for the scheduler to re-send.
    assert TaskRun.objects.get(pk=task_run.pk).state == "running"
