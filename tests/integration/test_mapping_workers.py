"""Mapping and branching through real worker processes on Redis + PostgreSQL."""

import time

import pytest

from runs.execution.watch import worker_identity
from runs.models import TaskRun
from runs.services import trigger_run
from runs.testing import wait_for_run
from workflows.models import Workflow

pytestmark = pytest.mark.integration


def start(slug, **parameters):
    return trigger_run(workflow=Workflow.objects.get(slug=slug), parameters=parameters)


def test_a_2000_item_map_is_summed_downstream(loaded, shared_worker):
    began = time.monotonic()
    run = wait_for_run(start("map_sum", count=2000), timeout=60)
    took = time.monotonic() - began
    assert run.state == "success"
    assert run.task_runs.get(task_name="total").result == sum(n * n for n in range(1, 2001))
    instances = TaskRun.objects.filter(run=run, map_parent="square")
    assert instances.count() == 2000
    assert set(instances.values_list("state", "attempt").distinct()) == {("success", 1)}
    workers = set(instances.values_list("worker", flat=True))
    assert workers and worker_identity() not in workers  # run by the worker process
    print(f"2,000-item map through one worker process: {took:.1f} s")


def test_a_branch_skips_the_side_it_did_not_choose(loaded, shared_worker):
    run = wait_for_run(start("branch_sides", side="right"), timeout=20)
    states = dict(run.task_runs.values_list("task_name", "state"))
    assert run.state == "success"
    assert states == {
        "choose": "success",
        "left": "skipped",
        "right": "success",
        "after_right": "success",
        "join": "success",
    }
