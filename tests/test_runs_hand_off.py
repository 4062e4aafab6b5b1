"""The direct hand-off: a task that makes exactly one downstream task ready runs it at once."""

from pathlib import Path

import pytest

from runs import dispatch
from runs.models import TaskRun
from runs.services import trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"


@pytest.fixture
def engine(transactional_db):
    with use_workflows(WORKFLOWS), in_process_worker(threads=2) as broker:
        yield broker


def test_the_next_task_runs_even_when_its_message_never_arrives(engine, monkeypatch):
    sent = []
    real_send_all = dispatch._send_all

    def lose_downstream_messages(items, delay):
        sent.extend(items)
        counted = getattr(dispatch._sent_by_attempt, "items", None)
        if counted is None:
            real_send_all(items, delay)  # the root's message, sent by trigger_run
        else:
            counted.extend(items)  # counted for the hand-off, never delivered

    monkeypatch.setattr(dispatch, "_send_all", lose_downstream_messages)
    run = trigger_run(workflow=Workflow.objects.get(slug="data_edge"), parameters={})
    run = wait_for_run(run, timeout=10)
    assert run.state == "success"
    assert dict(run.task_runs.values_list("task_name", "attempt")) == {"produce": 1, "consume": 1}
    assert TaskRun.objects.get(run=run, task_name="consume").result == 6
    assert len(sent) == 2  # the consume message was sent too


def test_a_duplicate_of_the_handed_off_tasks_message_runs_nothing(engine):
    run = trigger_run(workflow=Workflow.objects.get(slug="data_edge"), parameters={})
    run = wait_for_run(run, timeout=10)
    consume = TaskRun.objects.get(run=run, task_name="consume")
    dispatch.send_task_run(consume.pk, consume.queue)  # late, or a second copy
    engine.join(consume.queue)
    again = TaskRun.objects.get(pk=consume.pk)
    assert (again.attempt, again.state, again.finished_at) == (1, "success", consume.finished_at)
