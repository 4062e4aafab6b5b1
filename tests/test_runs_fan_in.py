"""A fan-in decides its downstream task from its upstream states, not the run's whole graph."""

import pytest

from runs import progress
from runs.services import trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
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
