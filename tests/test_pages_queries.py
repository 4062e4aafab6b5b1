"""List pages run a constant number of SQL queries, whatever the number of rows they show."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.testing import give_role, make_workflow
from runs.models import WorkflowRun
from workflows.models import TaskSpec

from .pages_world import make_run, page_world


@pytest.fixture
def world(db, tmp_path):
    with page_world(tmp_path) as built:
        yield built


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def add_workflows(world, count: int):
    for number in range(count):
        workflow = make_workflow(f"many_{count}_{number}", tags=["bulk", f"t{number}"])
        TaskSpec.objects.create(
            workflow=workflow,
            name="only",
            kind="python",
            position=0,
            upstream=[],
            retry_delay=timedelta(0),
            max_retry_delay=timedelta(0),
        )
        give_role(world.viewer, "operator" if number % 2 else "viewer", workflow)
        for _ in range(2):
            make_run(workflow, tasks={"only": "success"})


@pytest.mark.parametrize("who", ["viewer", "root"])
def test_the_home_page_runs_a_constant_number_of_queries(
    client, world, who, django_assert_num_queries
):
    client.force_login(getattr(world, who))
    add_workflows(world, 3)
    few = queries(client, "/")

    add_workflows(world, 30)
    with django_assert_num_queries(few):
        client.get("/")


@pytest.mark.parametrize("who", ["viewer", "root"])
def test_the_runs_page_runs_a_constant_number_of_queries(
    client, world, who, django_assert_num_queries
):
    client.force_login(getattr(world, who))
    for _ in range(3):
        make_run(world.report, started_by=world.operator)
    few = queries(client, reverse("runs:list"))

    for _ in range(30):
        make_run(world.report, started_by=world.operator)
    with django_assert_num_queries(few):
        client.get(reverse("runs:list"))


def test_the_workflow_page_and_its_grid_run_a_constant_number_of_queries(
    client, world, django_assert_num_queries
):
    client.force_login(world.viewer)
    url = reverse("workflows:detail", args=["report"])
    for _ in range(3):
        make_run(world.report)
    few = queries(client, url)

    for _ in range(30):
        make_run(world.report)
    assert WorkflowRun.objects.count() == 33
    with django_assert_num_queries(few):
        client.get(url)


def test_the_run_page_runs_a_constant_number_of_queries(client, world, django_assert_num_queries):
    client.force_login(world.viewer)
    small = make_run(world.report, tasks={"a": "success"})
    big = make_run(world.report, tasks={f"t{n}": "success" for n in range(30)})
    few = queries(client, reverse("runs:detail", args=[small.pk]))

    with django_assert_num_queries(few):
        client.get(reverse("runs:detail", args=[big.pk]))
