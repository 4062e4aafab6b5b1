"""Dynamic mapping on the in-process broker: instances made at run time, results gathered."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.testing import make_user
from runs.mapping import finish_stuck_maps
from runs.models import Pool, TaskRun, WorkflowRun
from runs.recovery import recover_dead_workers
from runs.services import cancel_run, retry_failed_tasks, retry_task, trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
from tests.processes import wait_until
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"


@pytest.fixture
def engine(transactional_db):
    with use_workflows(WORKFLOWS), in_process_worker(threads=4) as broker:
        yield broker


def start(slug, **parameters):
    return trigger_run(workflow=Workflow.objects.get(slug=slug), parameters=parameters)


def states(run) -> dict[str, str]:
    return dict(run.task_runs.values_list("task_name", "state"))


def test_it_runs_one_instance_per_item_and_sums_their_results(engine):
    run = wait_for_run(start("map_sum", count=20, factor=2))
    assert run.state == "success"
    step = run.task_runs.get(task_name="square")
    assert (step.state, step.map_count) == ("success", 20)
    assert step.result == [2 * n * n for n in range(1, 21)]
    assert run.task_runs.get(task_name="total").result == sum(2 * n * n for n in range(1, 21))
    instances = run.task_runs.filter(map_parent="square").order_by("map_index")
    assert [i.task_name for i in instances[:3]] == ["square[0]", "square[1]", "square[2]"]
    assert [i.map_item for i in instances[:3]] == [1, 2, 3]
    assert all(i.state == "success" and i.attempt == 1 for i in instances)


def test_an_empty_list_makes_no_instance_and_downstream_gets_an_empty_list(engine):
    run = wait_for_run(start("map_sum", count=0))
    assert run.state == "success"
    assert run.task_runs.get(task_name="square").result == []
    assert run.task_runs.get(task_name="total").result == 0
    assert not run.task_runs.filter(map_parent="square").exists()


def test_a_failed_instance_fails_its_step_naming_it_and_retrying_it_alone_finishes(engine):
    run = wait_for_run(start("map_over_parameter", values=["1", "-1", "3"]))
    assert run.state == "failed"
    step = run.task_runs.get(task_name="square")
    assert step.state == "failed"
    assert step.error == "1 of 3 instances did not succeed: square[1] (failed)."
    failed = run.task_runs.get(task_name="square[1]")
    assert (failed.state, failed.attempt) == ("failed", 2)  # its own retry, then failed
    assert "minus one is not welcome" in failed.error
    assert states(run)["total"] == "upstream_failed"
    TaskRun.objects.filter(pk=failed.pk).update(map_item=5)  # as if the item were fixed
    retry_task(task_run=failed)
    run = wait_for_run(run)
    assert run.state == "success"
    assert run.task_runs.get(task_name="total").result == 1 + 25 + 9
    assert run.task_runs.get(task_name="square[0]").attempt == 1  # not run again


def test_a_value_that_is_not_a_list_fails_the_step_naming_the_value(engine):
    run = wait_for_run(start("map_bad_items"))
    step = run.task_runs.get(task_name="square")
    assert (run.state, step.state) == ("failed", "failed")
    assert step.error == (
        "square.map() needs a list of items, but task 'not_a_list' gave 'twelve' (a str)"
    )
    assert not run.task_runs.filter(map_parent="square").exists()


def test_more_items_than_the_limit_fail_the_step_saying_so(engine, settings):
    settings.BATON_MAX_MAP = 10
    run = wait_for_run(start("map_sum", count=11))
    step = run.task_runs.get(task_name="square")
    assert step.state == "failed"
    assert step.error.startswith("square.map() got 11 items, over the limit of 10 instances")
    assert not run.task_runs.filter(map_parent="square").exists()


def test_the_run_page_shows_a_mapped_step_as_one_row_with_its_counts(engine, client):
    run = wait_for_run(start("map_over_parameter", values=["1", "-1", "3", "4"]))
    client.force_login(make_user("boss", superuser=True))

    page = client.get(reverse("runs:detail", args=[run.pk])).content.decode()

    assert "4 instances: 3 succeeded, 1 failed" in page
    assert 'data-task="square[0]"' not in page  # instances are not rows of their own
    listed = re.findall(r'data-instance="([^"]+)"', page)
    assert listed == ["square[1]"]  # the one not succeeded, with its log and a retry
    assert reverse("runs:task_log", args=[run.pk, "square[1]"]) in page
    assert reverse("runs:retry_task", args=[run.pk, "square[1]"]) in page
    assert "minus one is not welcome" in page


def test_the_grid_counts_a_mapped_steps_instances_in_its_cell(engine, client):
    run = wait_for_run(start("map_sum", count=3))
    client.force_login(make_user("boss", superuser=True))

    page = client.get(reverse("workflows:detail", args=["map_sum"])).content.decode()

    assert f"square · #{run.number} · Succeeded · 3 succeeded" in page
    assert "square[0]" not in page
    graph = json.loads(re.search(r'id="graph-data"[^>]*>(.*?)</script>', page).group(1))
    assert {"id": "square", "kind": "python", "mapped": True} in graph["nodes"]


def test_the_workflow_graph_puts_grouped_steps_in_their_group(engine, client):
    client.force_login(make_user("boss", superuser=True))
    page = client.get(reverse("workflows:detail", args=["grouped"])).content.decode()
    graph = json.loads(re.search(r'id="graph-data"[^>]*>(.*?)</script>', page).group(1))
    groups = {node["id"]: node.get("group") for node in graph["nodes"]}
    assert groups == {"extract.orders": "extract", "extract.customers": "extract", "publish": None}
    assert sorted(graph["edges"]) == [
        ["extract.customers", "publish"],
        ["extract.orders", "publish"],
    ]


def test_retrying_the_mapped_step_itself_makes_its_instances_anew(engine):
    run = wait_for_run(start("map_sum", count=3))
    old = set(run.task_runs.filter(map_parent="square").values_list("pk", flat=True))
    retry_task(task_run=run.task_runs.get(task_name="square"))
    run = wait_for_run(run)
    new = set(run.task_runs.filter(map_parent="square").values_list("pk", flat=True))
    assert run.state == "success" and len(new) == 3 and not new & old
    assert run.task_runs.get(task_name="total").result == 1 + 4 + 9


def test_cancelling_the_run_cancels_the_mapped_step_and_its_running_instances(engine):
    run = start("map_naps")
    running = run.task_runs.filter(map_parent="nap", state="running")
    wait_until(lambda: running.count() == 2, 10, "the instances did not start")
    cancel_run(run=run)
    run = wait_for_run(run)
    assert run.state == "cancelled"
    assert run.task_runs.get(task_name="nap").state == "cancelled"
    wait_until(lambda: set(states(run).values()) == {"cancelled"}, 10, "not all cancelled")


def test_the_sweep_ends_a_mapped_step_whose_last_check_was_lost(engine):
    run = wait_for_run(start("map_sum", count=2))
    # As if the worker of the last instance died between its commit and its check.
    WorkflowRun.objects.filter(pk=run.pk).update(state="running", finished_at=None)
    run.task_runs.filter(task_name="square").update(state="running", result=None)
    run.task_runs.filter(task_name="total").update(state="pending", result=None)
    stale = timezone.now() + timedelta(hours=1)
    assert recover_dead_workers(stale) == 0  # a mapped step has no worker to be lost
    assert finish_stuck_maps(10) == 1
    run = wait_for_run(run)
    assert run.state == "success"
    assert run.task_runs.get(task_name="square").result == [1, 4]
    assert run.task_runs.get(task_name="total").result == 5


def test_items_of_every_json_kind_reach_their_instance_as_they_were(engine):
    run = wait_for_run(start("map_kinds"))
    assert run.state == "success"
    expected = [1, "a", [2, 3], {"k": None}, None, 2.5, True, False, "x'y"]
    assert run.task_runs.get(task_name="echo").result == expected


def test_instances_of_a_pooled_step_take_turns_and_the_step_holds_no_slot(engine):
    Pool.objects.create(name="one_at_a_time", slots=1)
    run = wait_for_run(start("map_in_a_pool"), timeout=20)
    assert (run.state, run.task_runs.get(task_name="pooled").result) == ("success", [1, 2, 3])
    spans = sorted(
        run.task_runs.filter(map_parent="pooled").values_list("started_at", "finished_at")
    )
    pairs = zip(spans, spans[1:], strict=False)
    assert all(end <= next_start for (_, end), (next_start, _) in pairs)


def test_retrying_a_runs_failed_tasks_runs_only_the_failed_instances_again(engine):
    run = wait_for_run(start("map_over_parameter", values=["2", "-1"]))
    assert run.state == "failed"
    run.task_runs.filter(task_name="square[1]").update(map_item=3)  # as if the data were fixed
    assert retry_failed_tasks(run=run) == 3  # square[1], square and total
    run = wait_for_run(run)
    assert run.state == "success"
    assert run.task_runs.get(task_name="total").result == 4 + 9
    assert run.task_runs.get(task_name="square[0]").attempt == 1
    assert run.task_runs.filter(map_parent="square").count() == 2  # the same instances
