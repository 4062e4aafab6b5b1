"""The test world of the REST API tests: workflows from code, people with roles, their tokens.

    editor  — Editor on data_edge (view, trigger, change)
    operator — Operator on data_edge (view, trigger)
    viewer  — Viewer on data_edge (view)
    stranger — no role anywhere
    admin   — superuser

Each API test module builds it with its own ``world`` fixture (``build_world()``)
and calls the API through ``ApiClient``.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.test import Client

from accounts.roles import Role
from accounts.services import create_token
from accounts.testing import give_role, make_user
from runs.models import TaskRun, WorkflowRun
from runs.services import trigger_run
from workflows.models import Workflow

ENGINE_WORKFLOWS = Path(__file__).parent / "integration" / "workflows"
API = "/api/v1"


class ApiClient:
    """A Django test client that sends a Bearer token and JSON bodies."""

    def __init__(self, token: str | None = None, client: Client | None = None):
        self.client = client or Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, params: dict | None = None, **headers):
        return self.client.get(API + path, params or {}, headers={**self.headers, **headers})

    def post(self, path: str, body=None, *, raw: str | bytes | None = None, **headers):
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        return self.client.post(
            API + path, data, content_type="application/json", headers={**self.headers, **headers}
        )


@dataclass
class World:
    workflow: Workflow  # data_edge: one int parameter ``n``, tasks produce → consume
    other: Workflow  # single: nobody but the admin has a role on it
    users: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)

    def api(self, who: str) -> ApiClient:
        return ApiClient(self.tokens[who])

    def start(self, workflow: Workflow | None = None, **parameters) -> WorkflowRun:
        """A run started the way the pages do (no worker runs it in these tests)."""
        return trigger_run(workflow=workflow or self.workflow, parameters=parameters)


def build_world() -> World:
    """Users with roles on the loaded ``data_edge`` workflow, each with an API token."""
    world = World(
        workflow=Workflow.objects.get(slug="data_edge"),
        other=Workflow.objects.get(slug="single"),
    )
    roles = {"editor": Role.EDITOR, "operator": Role.OPERATOR, "viewer": Role.VIEWER}
    for name in ("editor", "operator", "viewer", "stranger", "admin"):
        user = make_user(name, superuser=name == "admin")
        if name in roles:
            give_role(user, roles[name], world.workflow)
        world.users[name] = user
        world.tokens[name] = create_token(user=user, name=f"{name}'s script")[1]
    return world


def finish(run: WorkflowRun, run_state: str, **task_states: str) -> WorkflowRun:
    """Put a run and its tasks in the given states, as a worker would have (test setup)."""
    for name, state in task_states.items():
        TaskRun.objects.filter(run=run, task_name=name).update(state=state, attempt=1)
    WorkflowRun.objects.filter(pk=run.pk).update(state=run_state)
    run.refresh_from_db()
    return run
