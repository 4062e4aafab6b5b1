"""The API's permission matrix: every endpoint × every role, given on the workflow or on all.

Not allowed to see the workflow: 404 (as if it did not exist). Allowed to see
it but not to do the action: 403. Allowed: the action's own answer.
"""

from dataclasses import dataclass

import pytest

from accounts.permissions import NEEDS
from accounts.roles import Role
from accounts.services import create_token
from accounts.testing import give_role, make_user
from runs.services import trigger_run
from runs.testing import use_workflows
from tests.api_world import ENGINE_WORKFLOWS, ApiClient, finish
from workflows.models import Workflow


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {run}: a failed run of data_edge
    need: str
    success: int
    body: dict | None = None

    def __str__(self):
        return f"{self.method} {self.path}"


ENDPOINTS = [
    Endpoint("GET", "/workflows/data_edge", "view", 200),
    Endpoint("POST", "/workflows/data_edge/pause", "change", 200),
    Endpoint("POST", "/workflows/data_edge/unpause", "change", 200),
    Endpoint("POST", "/workflows/data_edge/runs", "trigger", 201, {"parameters": {"n": 1}}),
    Endpoint("GET", "/runs/{run}", "view", 200),
    Endpoint("GET", "/runs/{run}/tasks/produce/log", "view", 200),
    Endpoint("POST", "/runs/{run}/cancel", "change", 409),  # allowed, but the run has ended
    Endpoint("POST", "/runs/{run}/retry", "change", 200),
    Endpoint("POST", "/runs/{run}/tasks/produce/retry", "change", 200),
    Endpoint(
        "POST",
        "/runs/{run}/tasks/produce/mark",
        "change",
        200,
        {"state": "success", "reason": "ok"},
    ),
]

# How the caller holds a role: on data_edge itself, on every workflow (the role's
# group), or on another workflow only (which gives nothing on data_edge).
HOW = ["on_workflow", "on_all", "elsewhere"]
CASES = [(None, "nowhere")] + [(role, how) for role in Role for how in HOW]


@pytest.fixture
def loaded(db):
    with use_workflows(ENGINE_WORKFLOWS):
        yield Workflow.objects.get(slug="data_edge")


def caller(role: Role | None, how: str, workflow: Workflow) -> ApiClient:
    user = make_user("caller")
    if how == "on_workflow":
        give_role(user, role, workflow)
    elif how == "on_all":
        give_role(user, role)
    elif how == "elsewhere":
        give_role(user, role, Workflow.objects.get(slug="single"))
    return ApiClient(create_token(user=user, name="matrix")[1])


def call(client: ApiClient, endpoint: Endpoint, run):
    path = endpoint.path.format(run=run.pk)
    return client.get(path) if endpoint.method == "GET" else client.post(path, endpoint.body)


def expected_status(role: Role | None, how: str, endpoint: Endpoint) -> int:
    held = role.permissions if how in ("on_workflow", "on_all") else frozenset()
    if NEEDS["view"] not in held:
        return 404
    if NEEDS[endpoint.need] not in held:
        return 403
    return endpoint.success


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
@pytest.mark.parametrize("role, how", CASES, ids=lambda v: getattr(v, "value", v) or "no_role")
def test_the_api_enforces_the_role(loaded, role, how, endpoint):
    run = finish(
        trigger_run(workflow=loaded, parameters={}), "failed", produce="failed", consume="skipped"
    )
    client = caller(role, how, loaded)

    response = call(client, endpoint, run)

    assert response.status_code == expected_status(role, how, endpoint), response.content


def test_a_superuser_may_do_everything(loaded):
    admin = make_user("root", superuser=True)
    client = ApiClient(create_token(user=admin, name="root")[1])
    run = finish(trigger_run(workflow=loaded, parameters={}), "failed", produce="failed")

    for endpoint in ENDPOINTS:
        response = call(client, endpoint, run)
        assert response.status_code == endpoint.success, (str(endpoint), response.content)
        if endpoint.path.endswith("/retry"):
            finish(run, "failed", produce="failed")  # back to a failed run for the next action
