"""List pages run a constant number of SQL queries, whatever the number of rows they show.

The numbers are pinned. Every page starts with the same two: the session and
the user. For a user who is not a superuser, asking what they may do on one
workflow (``access_of``) costs four more: their global permissions and their
groups' (read once per request by ModelBackend), then their object
permissions on the workflow and their groups'. A superuser skips all four.
"""

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


# Home: session, user; the visible workflows' ids and tags (the permission
# subqueries run here, once); the count for the paginator; the page of
# workflows; their schedules (prefetch); their last runs (one window query);
# which of them the user may start; how many files failed to load (for the
# developers' link). A viewer adds their global permissions and their groups'
# (2); guardian lists the ids of those they may start, with any values or from
# presets only, in one query. Last, the approval steps waiting
# for the user's groups (one query, with the groups and the visible workflows inside).
HOME_QUERIES = {"viewer": 12, "root": 10}
# All runs: session, user; the workflows for the filter; the count; the page.
# A viewer's global permissions and their groups' add two.
RUNS_QUERIES = {"viewer": 7, "root": 5}


@pytest.mark.parametrize("who", ["viewer", "root"])
def test_the_home_page_runs_a_constant_number_of_queries(
    client, world, who, django_assert_num_queries
):
    client.force_login(getattr(world, who))
    add_workflows(world, 3)
    assert queries(client, "/") == HOME_QUERIES[who]

    add_workflows(world, 30)
    with django_assert_num_queries(HOME_QUERIES[who]):
        client.get("/")


@pytest.mark.parametrize("who", ["viewer", "root"])
def test_the_runs_page_runs_a_constant_number_of_queries(
    client, world, who, django_assert_num_queries
):
    client.force_login(getattr(world, who))
    for _ in range(3):
        make_run(world.report, started_by=world.operator)
    assert queries(client, reverse("runs:list")) == RUNS_QUERIES[who]

    for _ in range(30):
        make_run(world.report, started_by=world.operator)
    with django_assert_num_queries(RUNS_QUERIES[who]):
        client.get(reverse("runs:list"))


# One workflow: session, user; the workflow and its schedules (prefetch), loaded
# once by workflow_for; the viewer's access (4); its tasks; the grid's runs and
# their task states (2); the number of runs; its versions with their run counts;
# its presets with who saved them.
WORKFLOW_PAGE_QUERIES = 14


def test_the_workflow_page_and_its_grid_run_a_constant_number_of_queries(
    client, world, django_assert_num_queries
):
    client.force_login(world.viewer)
    url = reverse("workflows:detail", args=["report"])
    for _ in range(3):
        make_run(world.report)
    assert queries(client, url) == WORKFLOW_PAGE_QUERIES

    for _ in range(30):
        make_run(world.report)
    assert WorkflowRun.objects.count() == 33
    with django_assert_num_queries(WORKFLOW_PAGE_QUERIES):
        client.get(url)


# One run: session, user; the run with its workflow (one query, run_for); the
# viewer's access (4); the task runs; their earlier attempts.
RUN_PAGE_QUERIES = 9
# A task's log: as the run page, then the task run, the log's pieces, the attempts.
LOG_PAGE_QUERIES = 10


def test_the_run_page_runs_a_constant_number_of_queries(client, world, django_assert_num_queries):
    client.force_login(world.viewer)
    small = make_run(world.report, tasks={"a": "success"})
    big = make_run(world.report, tasks={f"t{n}": "success" for n in range(30)})
    assert queries(client, reverse("runs:detail", args=[small.pk])) == RUN_PAGE_QUERIES

    with django_assert_num_queries(RUN_PAGE_QUERIES):
        client.get(reverse("runs:detail", args=[big.pk]))


def test_the_log_page_loads_its_run_and_workflow_once(client, world, django_assert_num_queries):
    client.force_login(world.viewer)
    run = make_run(world.report, tasks={"a": "success"})

    with django_assert_num_queries(LOG_PAGE_QUERIES):
        response = client.get(reverse("runs:task_log", args=[run.pk, "a"]))

    assert response.status_code == 200
