"""The API's permission matrix: every endpoint × every role, given on the workflow or on all.

Not allowed to see the workflow: 404 (as if it did not exist), and the answer
does not name it. Allowed to see it but not to do the action: 403. Either way
nothing changed in the database. Allowed: the action's own answer, and its
effect (the run started with the parameters sent, cancelled, retried, marked;
the workflow paused; the audit event written), and nothing else. Each endpoint
acts on a run where it can succeed, so a 409 never passes for "allowed".
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client

from accounts.permissions import NEEDS
from accounts.roles import Role
from accounts.services import create_token
from accounts.testing import give_role, make_user
from runs.models import TaskLogChunk, WorkflowRun
from runs.services import trigger_run
from tests.api_world import ENGINE_WORKFLOWS, ApiClient, finish
from tests.effects import (
    Snapshot,
    assert_paused,
    assert_run_cancelled,
    assert_run_started,
    assert_task_marked,
    assert_tasks_run_again,
    assert_unchanged,
    changes_since,
    leaked,
)
from tests.pages_world import registry_with, synced_for_module
from workflows.models import Workflow
from workflows.registry import reset_registry

LOG_LINE = "produce made 4 items"


@dataclass
class World:
    """One case: who calls, the workflow and run it acts on, and what the API answered."""

    user: object
    workflow: Workflow  # data_edge
    run: WorkflowRun | None
    response: object = None

    @property
    def data(self) -> dict:
        return self.response.json()


def answers(what: Callable) -> Callable:
    """The effect of a read: ``what(world)`` holds of the answer, and nothing changed."""

    def effect(world: World, before: Snapshot) -> None:
        assert what(world), world.data
        assert_unchanged(changes_since(before))

    return effect


def paused(state: bool) -> Callable:
    def effect(world: World, before: Snapshot) -> None:
        assert_paused(changes_since(before), workflow=world.workflow, paused=state, by=world.user)
        assert world.data["is_paused"] is state

    return effect


def run_started(world: World, before: Snapshot) -> None:
    change = changes_since(before)
    assert_run_started(
        change, workflow=world.workflow, parameters={"n": 1}, by=world.user, trigger="api"
    )
    assert world.data["id"] == next(iter(change.runs))


def run_cancelled(world: World, before: Snapshot) -> None:
    assert_run_cancelled(changes_since(before), run=world.run, by=world.user)
    assert world.data["state"] == "cancelled"


def run_again(verb: str) -> Callable:
    def effect(world: World, before: Snapshot) -> None:
        tasks = {"produce", "consume"}
        assert_tasks_run_again(
            changes_since(before), run=world.run, tasks=tasks, verb=verb, by=world.user
        )
        assert world.data["retried"] == len(tasks)

    return effect


def task_marked(world: World, before: Snapshot) -> None:
    assert_task_marked(
        changes_since(before),
        run=world.run,
        task="produce",
        state="success",
        reason="checked by hand",
        by=world.user,
    )


def _set_paused(world: World) -> None:
    Workflow.objects.filter(pk=world.workflow.pk).update(is_paused=True)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {run}: the run of data_edge it acts on (see ``run``)
    need: str
    success: int
    body: dict | None = None
    effect: Callable = answers(lambda world: world.data["slug"] == "data_edge")
    run: str | None = None  # "failed" or "running" (``make_matrix_run``)
    setup: Callable = lambda world: None  # (world) -> None, before the call

    def __str__(self):
        return f"{self.method} {self.path}"


ENDPOINTS = [
    Endpoint("GET", "/workflows/data_edge", "view", 200),
    Endpoint("POST", "/workflows/data_edge/pause", "change", 200, effect=paused(True)),
    Endpoint(
        "POST",
        "/workflows/data_edge/unpause",
        "change",
        200,
        effect=paused(False),
        setup=_set_paused,
    ),
    Endpoint(
        "POST",
        "/workflows/data_edge/runs",
        "trigger",
        201,
        {"parameters": {"n": 1}},
        effect=run_started,
    ),
    Endpoint(
        "GET",
        "/runs/{run}",
        "view",
        200,
        effect=answers(lambda world: world.data["id"] == world.run.pk),
        run="failed",
    ),
    Endpoint(
        "GET",
        "/runs/{run}/tasks/produce/log",
        "view",
        200,
        effect=answers(lambda world: LOG_LINE in world.data["text"]),
        run="failed",
    ),
    Endpoint("POST", "/runs/{run}/cancel", "change", 200, effect=run_cancelled, run="running"),
    Endpoint(
        "POST", "/runs/{run}/retry", "change", 200, effect=run_again("run.retried"), run="failed"
    ),
    Endpoint(
        "POST",
        "/runs/{run}/tasks/produce/retry",
        "change",
        200,
        effect=run_again("task.retried"),
        run="failed",
    ),
    Endpoint(
        "POST",
        "/runs/{run}/tasks/produce/mark",
        "change",
        200,
        {"state": "success", "reason": "checked by hand"},
        effect=task_marked,
        run="failed",
    ),
]

# How the caller holds a role: on data_edge itself, on every workflow (the role's
# group), or on another workflow only (which gives nothing on data_edge). A
# superuser holds no role and may do everything.
HOW = ["on_workflow", "on_all", "elsewhere"]
CASES = [(None, "nowhere"), (None, "superuser")] + [(role, how) for role in Role for how in HOW]


@pytest.fixture(scope="module")
def matrix_registry():
    return registry_with(ENGINE_WORKFLOWS, ("data_edge", "single"))


@pytest.fixture(scope="module")
def matrix_client():
    """One Django client for the whole matrix: a new one loads the middleware again (~0.1 s)."""
    return Client()


@pytest.fixture(scope="module")
def synced(django_db_setup, django_db_blocker, matrix_registry):
    yield from synced_for_module(matrix_registry, django_db_blocker)


@pytest.fixture
def loaded(db, synced, matrix_registry):
    reset_registry(matrix_registry)
    yield Workflow.objects.get(slug="data_edge")
    reset_registry(None)


def make_caller(role: Role | None, how: str, workflow: Workflow):
    """The calling user, holding ``role`` as ``how`` says."""
    user = make_user("caller", superuser=how == "superuser")
    if how == "on_workflow":
        give_role(user, role, workflow)
    elif how == "on_all":
        give_role(user, role)
    elif how == "elsewhere":
        give_role(user, role, Workflow.objects.get(slug="single"))
    return user


def make_matrix_run(workflow: Workflow, state: str) -> WorkflowRun:
    """ "running": just started. "failed": produce failed (LOG_LINE in its log), consume skipped."""
    run = trigger_run(workflow=workflow, parameters={})
    if state == "failed":
        finish(run, "failed", produce="failed", consume="skipped")
        produce = run.task_runs.get(task_name="produce")
        TaskLogChunk.objects.create(task_run=produce, attempt=1, seq=1, text=LOG_LINE + "\n")
    run.refresh_from_db()
    assert run.state == state
    return run


def call(client: ApiClient, endpoint: Endpoint, run):
    path = endpoint.path.format(run=run.pk if run else None)
    return client.get(path) if endpoint.method == "GET" else client.post(path, endpoint.body)


def holds(role: Role | None, how: str, need: str) -> bool:
    """Whether the caller may ``need`` on data_edge (seeing it is part of every need)."""
    if how == "superuser":
        return True
    held = role.permissions if how in ("on_workflow", "on_all") else frozenset()
    return NEEDS["view"] in held and NEEDS[need] in held


def expected_status(role: Role | None, how: str, endpoint: Endpoint) -> int:
    if not holds(role, how, "view"):
        return 404
    if not holds(role, how, endpoint.need):
        return 403
    return endpoint.success


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
@pytest.mark.parametrize("role, how", CASES, ids=lambda v: getattr(v, "value", v) or "no_role")
def test_the_api_enforces_the_role(matrix_client, loaded, role, how, endpoint):
    user = make_caller(role, how, loaded)
    client = ApiClient(create_token(user=user, name="matrix")[1], client=matrix_client)
    world = World(user, loaded, make_matrix_run(loaded, endpoint.run) if endpoint.run else None)
    endpoint.setup(world)
    before = Snapshot.take()

    world.response = call(client, endpoint, world.run)

    want = expected_status(role, how, endpoint)
    assert world.response.status_code == want, world.response.content
    if want == endpoint.success:
        endpoint.effect(world, before)
    else:
        assert_unchanged(changes_since(before))
        if want == 404:
            assert leaked(world.response.content, ["data_edge", loaded.title]) == []


# The lists answer 200 to everyone, with only what the caller may see.
LISTS = {
    "GET /workflows": ("/workflows", lambda data, world: world.workflow.slug in _slugs(data)),
    "GET /runs": ("/runs", lambda data, world: world.run.pk in _ids(data)),
    "GET /runs?workflow=data_edge": (
        "/runs?workflow=data_edge",
        lambda data, world: world.run.pk in _ids(data),
    ),
}


def _slugs(data) -> set:
    return {workflow["slug"] for workflow in data}


def _ids(data) -> set:
    return {run["id"] for run in data["items"]}


@pytest.mark.parametrize("listing", list(LISTS))
@pytest.mark.parametrize("role, how", CASES, ids=lambda v: getattr(v, "value", v) or "no_role")
def test_the_api_lists_only_what_the_role_may_see(matrix_client, loaded, role, how, listing):
    user = make_caller(role, how, loaded)
    client = ApiClient(create_token(user=user, name="matrix")[1], client=matrix_client)
    world = World(user, loaded, make_matrix_run(loaded, "failed"))
    path, lists_it = LISTS[listing]
    before = Snapshot.take()

    response = client.get(path)

    assert response.status_code == 200, response.content
    assert lists_it(response.json(), world) is holds(role, how, "view")
    assert_unchanged(changes_since(before))
