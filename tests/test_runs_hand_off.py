"""The direct hand-off: a task that makes exactly one downstream task ready runs it at once."""

from pathlib import Path

import pytest

from runs import actors, dispatch
from runs.models import TaskRun
from runs.services import trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"


@pytest.fixture
def engine(transactional_db):
    with use_workflows(WORKFLOWS), in_process_worker(threads=2) as broker:
        yield broker


@pytest.fixture
def sent(monkeypatch) -> list[tuple[int, str]]:
    """The ``(task_run_id, queue)`` given to the broker, not those held for a hand-off."""
    sent, real_send_all = [], dispatch._send_all

    def record_what_is_sent(items, delay):
        if getattr(dispatch._held_by_thread, "current", None) is None:
            sent.extend(items)
        real_send_all(items, delay)

    monkeypatch.setattr(dispatch, "_send_all", record_what_is_sent)
    return sent


def test_the_next_task_runs_in_the_same_thread_without_a_message(engine, sent):
    run = trigger_run(workflow=Workflow.objects.get(slug="data_edge"), parameters={})
    run = wait_for_run(run, timeout=10)
    assert run.state == "success"
    tasks = {t.task_name: t for t in run.task_runs.all()}
    assert {name: t.attempt for name, t in tasks.items()} == {"produce": 1, "consume": 1}
    assert tasks["consume"].result == 6
    assert tasks["consume"].worker == tasks["produce"].worker
    assert sent == [(tasks["produce"].pk, "default")]  # the root's message only


CHAIN = """
from workflows import task, workflow


@task
def step(n: int = 0) -> int:
    return n + 1


@workflow
def chain_of_three():
    step(step(step()))
"""


@pytest.fixture
def chain(transactional_db, workflows_dir):
    (workflows_dir / "chain.py").write_text(CHAIN)
    with use_workflows(workflows_dir), in_process_worker(threads=2) as broker:
        yield broker


def test_a_long_chain_goes_by_the_broker_after_so_many_hand_offs(chain, sent, monkeypatch):
    monkeypatch.setattr(actors, "HAND_OFFS", 2)
    run = trigger_run(workflow=Workflow.objects.get(slug="chain_of_three"), parameters={})
    run = wait_for_run(run, timeout=10)
    assert run.state == "success"
    assert run.task_runs.order_by("position").last().result == 3
    # The root's message; its thread ran the second step, then sent the third's.
    assert len(sent) == 2


def test_a_duplicate_of_the_handed_off_tasks_message_runs_nothing(engine):
    run = trigger_run(workflow=Workflow.objects.get(slug="data_edge"), parameters={})
    run = wait_for_run(run, timeout=10)
    consume = TaskRun.objects.get(run=run, task_name="consume")
    dispatch.send_task_run(consume.pk, consume.queue)  # late, or a second copy
    engine.join(consume.queue)
    again = TaskRun.objects.get(pk=consume.pk)
    assert (again.attempt, again.state, again.finished_at) == (1, "success", consume.finished_at)
