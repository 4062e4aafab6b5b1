"""A fan-in is decided after each upstream success, without the run's lock or its whole graph.

Each success queues the downstream task once no upstream task is left to do
(runs.downstream); a decision under the run's lock (a task marked by hand, run
again) checks again after its commit; a worker that died in between is made up for
by the scheduler's sweep.
"""

import threading

import pytest
from django.db import connections, transaction
from django.utils import timezone

from audit.models import AuditEvent
from runs import progress, recovery
from runs.execution import finish, statements
from runs.execution.finish import end_attempt
from runs.execution.outcome import Outcome
from runs.execution.statements import claim_task_run
from runs.models import TaskRun, WorkflowRun
from runs.services import mark_task, retry_task, trigger_run
from runs.states import TaskState
from runs.testing import in_process_worker, stub_broker, use_workflows, wait_for_run
from workflows.models import Workflow

FAN_IN = """
from workflows import task, workflow


@task
def part(n: int) -> int:
    return n


@task
def total(*parts) -> int:
    return sum(parts)


@workflow
def fan_in():
    total(*[part(n) for n in range(30)])


@task
def broken() -> None:
    raise ValueError("no")


@workflow
def fan_in_failing():
    total(part(1), broken(), part(2))

@workflow
def five_parts():
    total(*[part(n) for n in range(5)])


@workflow
def two_parts():
    total(part(1), part(2))


@workflow
def diamond():
    root = part(0)
    parts = [part(n) for n in range(1, 21)]
    root >> parts
    total(*parts)
"""


@pytest.fixture
def engine(transactional_db, workflows_dir):
    (workflows_dir / "fan_in.py").write_text(FAN_IN)
    with use_workflows(workflows_dir), in_process_worker(threads=4):
        yield


def test_no_upstream_end_reads_the_whole_run(engine, monkeypatch):
    run = trigger_run(workflow=Workflow.objects.get(slug="fan_in"), parameters={})

    def whole_graph(run_id):
        raise AssertionError("an upstream end read the whole run")

    monkeypatch.setattr(progress, "_load_graph", whole_graph)
    run = wait_for_run(run, timeout=20)
    assert run.state == "success"
    assert run.task_runs.get(task_name="total").result == sum(range(30))


def test_a_failed_upstream_still_fails_the_fan_in(engine):
    run = trigger_run(workflow=Workflow.objects.get(slug="fan_in_failing"), parameters={})
    run = wait_for_run(run, timeout=20)
    assert run.state == "failed"
    assert run.task_runs.get(task_name="total").state == "upstream_failed"


# --- one end at a time (no worker: each end is called here) -----------------------------------


@pytest.fixture
def by_hand(transactional_db, workflows_dir):
    (workflows_dir / "fan_in.py").write_text(FAN_IN)
    with use_workflows(workflows_dir), stub_broker():
        yield


def succeed(run, name: str) -> str | None:
    task_run = claim_task_run(run.task_runs.get(task_name=name).pk)
    return end_attempt(task_run, Outcome(TaskState.SUCCESS, result=1), options=None)


def parts(run) -> list[str]:
    return list(run.task_runs.exclude(task_name="total").values_list("task_name", flat=True))


def total_of(run) -> TaskRun:
    return run.task_runs.get(task_name="total")


def test_the_fan_in_is_queued_by_its_last_upstream_success(by_hand):
    run = trigger_run(workflow=Workflow.objects.get(slug="five_parts"), parameters={})
    *first, last = parts(run)
    for name in first:
        assert succeed(run, name) == "success"
        assert total_of(run).state == "pending"
    succeed(run, last)
    assert total_of(run).state == "queued"


def test_a_root_queues_its_whole_fan_out_with_its_success_and_the_fan_in_waits(by_hand):
    # Over eight downstream tasks, what holds them back is read once (runs.downstream).
    run = trigger_run(workflow=Workflow.objects.get(slug="diamond"), parameters={})
    root, *middle = parts(run)
    succeed(run, root)
    states = dict(run.task_runs.values_list("task_name", "state"))
    assert {states[name] for name in middle} == {"queued"}
    assert states["total"] == "pending"
    for name in middle[:-1]:
        succeed(run, name)
    assert total_of(run).state == "pending"
    succeed(run, middle[-1])
    assert total_of(run).state == "queued"


def test_an_upstream_success_does_not_wait_for_the_run_lock(postgres, by_hand):
    run = trigger_run(workflow=Workflow.objects.get(slug="two_parts"), parameters={})
    locked, release, gave_up = threading.Event(), threading.Event(), threading.Event()

    def hold_the_run_lock():
        with transaction.atomic():
            WorkflowRun.objects.select_for_update().get(pk=run.pk)
            locked.set()
            if not release.wait(10):
                gave_up.set()  # the ends below waited for this lock
        connections.close_all()

    holder = threading.Thread(target=hold_the_run_lock)
    holder.start()
    try:
        assert locked.wait(10)
        for name in parts(run):
            assert succeed(run, name) == "success"  # would block here behind the lock
        assert total_of(run).state == "queued"
        assert not gave_up.is_set()
    finally:
        release.set()
        holder.join(10)


def test_an_upstream_marked_success_by_hand_counts_for_the_fan_in(by_hand):
    run = trigger_run(workflow=Workflow.objects.get(slug="two_parts"), parameters={})
    first, second = parts(run)
    claim_task_run(run.task_runs.get(task_name=first).pk)
    mark_task(task_run=run.task_runs.get(task_name=first), state="success")
    assert total_of(run).state == "pending"
    succeed(run, second)
    assert total_of(run).state == "queued"


def test_a_task_run_again_holds_the_fan_in_until_it_succeeds_again(by_hand):
    run = trigger_run(workflow=Workflow.objects.get(slug="two_parts"), parameters={})
    for name in [*parts(run), "total"]:
        succeed(run, name)
    first = parts(run)[0]
    retry_task(task_run=run.task_runs.get(task_name=first))
    assert total_of(run).state == "pending"
    succeed(run, first)
    assert total_of(run).state == "queued"
    succeed(run, "total")
    run.refresh_from_db()
    assert (run.state, total_of(run).attempt) == ("success", 2)


def test_a_decision_lost_with_its_worker_is_made_by_the_sweep(by_hand, monkeypatch):
    run = trigger_run(workflow=Workflow.objects.get(slug="two_parts"), parameters={})
    first, second = parts(run)
    succeed(run, first)

    def success_only(task_run, result, now):
        # As when it finds the other upstream task still running, ending in the same instant.
        return statements.record_success(task_run, result, now), list(task_run.downstream)

    def worker_dies(*args):
        raise SystemExit("killed between its commit and the decision after it")

    monkeypatch.setattr(finish, "record_success_and_queue", success_only)
    monkeypatch.setattr(finish, "decide_pending", worker_dies)
    with pytest.raises(SystemExit):
        succeed(run, second)
    monkeypatch.undo()
    assert (total_of(run).state, run.task_runs.get(task_name=second).state) == (
        "pending",
        "success",
    )

    assert recovery.sweep(timezone.now())["runs_resumed"] == 0  # within the grace: not yet
    later = timezone.now() + recovery.STALL_GRACE
    assert recovery.sweep(later)["runs_resumed"] == 1
    assert total_of(run).state == "queued"
    event = AuditEvent.objects.get(verb="run.resumed")
    assert event.details == {"tasks_decided": 1, "state": "running"}


def test_a_run_whose_last_end_was_lost_is_ended_by_the_sweep(by_hand):
    run = trigger_run(workflow=Workflow.objects.get(slug="two_parts"), parameters={})
    for name in [*parts(run), "total"]:
        succeed(run, name)
    # As if its worker died after the last task's commit, before ending the run.
    WorkflowRun.objects.filter(pk=run.pk).update(state="running", finished_at=None)

    later = timezone.now() + recovery.STALL_GRACE
    assert recovery.sweep(later)["runs_resumed"] == 1
    run.refresh_from_db()
    assert run.state == "success"
    assert AuditEvent.objects.get(verb="run.resumed").details["state"] == "success"


def test_a_run_with_a_task_in_progress_is_left_to_it(by_hand):
    run = trigger_run(workflow=Workflow.objects.get(slug="two_parts"), parameters={})
    first, _second = parts(run)
    claim_task_run(run.task_runs.get(task_name=first).pk)  # running, its worker alive

    later = timezone.now() + recovery.STALL_GRACE
    assert recovery.resume_stalled_runs(later) == 0
    assert not AuditEvent.objects.filter(verb="run.resumed").exists()
