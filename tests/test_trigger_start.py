"""A run that starts at once: its roots go in queued and are sent after commit, the rest waits."""

import pytest
from dramatiq.message import Message

from runs.models import TaskRun, WorkflowRun
from runs.progress import start_waiting_runs
from runs.services import cancel_run, trigger_run
from runs.testing import stub_broker, use_workflows
from workflows.models import Workflow

FLOWS = """
from workflows import task, workflow


@task
def a():
    pass


@task(queue="other")
def b():
    pass


@task
def c():
    pass


@task(trigger_rule="one_failed")
def on_failure():
    pass


@workflow(max_active_runs=1)
def fan():
    a() >> c()
    b()


@workflow
def roots():
    a()
    b()
    a()


@workflow
def alarm():
    on_failure() >> c()
"""


@pytest.fixture
def broker(db, workflows_dir):
    (workflows_dir / "flows.py").write_text(FLOWS)
    with use_workflows(workflows_dir), stub_broker() as broker:
        yield broker


def sent(broker) -> dict[str, list[int]]:
    """Task run ids in the broker's queues, by queue (taken out of them)."""
    taken = {}
    for name, queue in broker.queues.items():
        messages = [Message.decode(queue.get_nowait()) for _ in range(queue.qsize())]
        if messages:
            taken[name] = sorted(message.args[0] for message in messages)
    return taken


def tasks(run) -> dict[str, tuple]:
    rows = run.task_runs.values_list("task_name", "pk", "state", "queued_at")
    return {name: (pk, state, queued_at) for name, pk, state, queued_at in rows}


def start(slug):
    return trigger_run(workflow=Workflow.objects.get(slug=slug), parameters={})


def test_the_roots_are_queued_as_the_run_starts_and_sent_only_after_commit(
    broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        run = start("fan")
        assert sent(broker) == {}
    stored = WorkflowRun.objects.get(pk=run.pk)
    assert (
        (run.state, run.started_at)
        == ("running", stored.started_at)
        == (
            stored.state,
            stored.started_at,
        )
    )
    rows = tasks(run)
    assert rows["a"][1:] == rows["b"][1:] == ("queued", stored.started_at)
    assert rows["c"][1:] == ("pending", None)
    for callback in callbacks:
        callback()
    assert sent(broker) == {"default": [rows["a"][0]], "other": [rows["b"][0]]}


def test_a_run_of_roots_only_queues_and_sends_each(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = start("roots")
    rows = tasks(run)
    assert {name: row[1:] for name, row in rows.items()} == dict.fromkeys(
        ("a", "b", "a__2"), ("queued", run.started_at)
    )
    assert sent(broker) == {
        "default": sorted([rows["a"][0], rows["a__2"][0]]),
        "other": [rows["b"][0]],
    }


def test_a_run_without_a_free_slot_keeps_its_tasks_pending_until_one_frees(
    broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = start("fan")
    assert sent(broker)
    with django_capture_on_commit_callbacks(execute=True):
        waiting = start("fan")
    assert (waiting.state, waiting.started_at) == ("queued", None)
    assert {state for _, state, _ in tasks(waiting).values()} == {"pending"}
    assert sent(broker) == {}

    with django_capture_on_commit_callbacks(execute=True):
        cancel_run(run=first)  # frees the slot: the waiting run starts the usual way
    waiting.refresh_from_db()
    rows = tasks(waiting)
    assert (waiting.state, rows["a"][1], rows["b"][1], rows["c"][1]) == (
        "running",
        "queued",
        "queued",
        "pending",
    )
    assert sent(broker) == {"default": [rows["a"][0]], "other": [rows["b"][0]]}
    assert start_waiting_runs(waiting.workflow_id, now=waiting.started_at) == 0


def test_a_root_its_rule_skips_is_decided_with_its_downstream_and_the_run_ends(
    broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = start("alarm")
    assert {name: state for name, (_, state, _) in tasks(run).items()} == {
        "on_failure": "skipped",
        "c": "skipped",
    }
    assert run.state == WorkflowRun.objects.get(pk=run.pk).state == "success"
    assert sent(broker) == {}
    assert not TaskRun.objects.filter(run=run, queued_at__isnull=False).exists()
