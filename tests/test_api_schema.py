"""Schemathesis against /api/v1/openapi.json, every check on: no 5xx, no undocumented status,
no schema-valid request refused, every answer matching the schema.

Each operation gets a bounded, deterministic set of generated requests (valid
and invalid ones), sent through the WSGI app with an admin's Bearer token. Half
of the valid requests are aimed at a workflow and a run that exist, so the
success paths are exercised too, not only the 404s. Then the stateful phase
chains calls along the schema's links (start a run, read it, cancel it…).
"""

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.generation.modes import GenerationMode

from config.wsgi import application
from runs.testing import use_workflows
from tests.api_world import ENGINE_WORKFLOWS, build_world, finish

MAX_EXAMPLES = 10
STATEFUL_EXAMPLES = 15
VALID = '"2xx", "401", "403", "404", "409"'

# A schema-valid request is accepted, or refused for who asks or what exists (401-409).
# Three operations also answer 422 to one: a run's parameters are checked against the
# workflow's own parameter_schema, a cursor must be one the server issued, and a task
# has only so many attempts; the schema says so, but cannot express it.
CONFIG = schemathesis.Config.from_str(
    f"""
[generation]
max-examples = {MAX_EXAMPLES}
deterministic = true

[checks]
enabled = true

[checks.positive_data_acceptance]
expected-statuses = [{VALID}]

[[operations]]
include-operation-id = ["runs_api_start_run", "runs_api_list_runs", "runs_api_read_task_log"]
checks.positive_data_acceptance.expected-statuses = [{VALID}, "422"]
"""
)
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=CONFIG)
existing: dict = {}  # filled per test by the ``target`` fixture


@schema.auth(refresh_interval=None)
class AdminToken:
    """The admin's token of the current test (each test has its own database rows)."""

    def get(self, case, context):
        return existing.get("token")  # None while collecting: no request is sent then

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def keep_connection():
    """Keep the test's DB connection open across requests.

    The bare WSGI app closes it when a request starts and ends; Django's test
    client disconnects the same handlers.
    """
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@pytest.fixture
def target(db, keep_connection):
    """An admin's token, and a workflow and a failed run that exist."""
    with use_workflows(ENGINE_WORKFLOWS):
        world = build_world()
        run = finish(world.start(n=2), "failed", produce="success", consume="failed")
        existing.update(token=world.tokens["admin"], slug="data_edge", run_id=run.pk)
        yield existing
        existing.clear()


def authenticate(case) -> None:
    """The token on every case, unless it tests a missing or broken Authorization on purpose.

    Cases of the coverage phase are generated while collecting, before any
    token exists: they carry an empty "Bearer " placeholder.
    """
    if not case.operation.schema.is_security_param_negated(case):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {existing['token']}"}


def point_at_existing_objects(case) -> None:
    """Aim about half of the valid requests at the workflow, run and task that exist."""
    parameters = case.path_parameters
    if case.meta.generation.mode != GenerationMode.POSITIVE or not parameters:
        return
    if hash(repr(sorted(parameters.items()))) % 2:
        return
    replacements = {"slug": existing["slug"], "run_id": existing["run_id"], "task": "consume"}
    for name in parameters.keys() & replacements.keys():
        parameters[name] = replacements[name]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_the_api_keeps_to_its_schema(case, target):
    authenticate(case)
    point_at_existing_objects(case)
    case.call_and_validate()


class Sequences(schema.as_state_machine()):
    """Chains of calls along the links of the schema, each step checked like a single call.

    Each scenario starts from the same database and cache: Hypothesis replays a scenario's
    choices and expects the same answers, which the runs an earlier scenario started (or
    cancelled, or retried) would change.
    """

    def setup(self):
        super().setup()
        cache.clear()
        self.savepoint = transaction.savepoint()

    def teardown(self):
        transaction.savepoint_rollback(self.savepoint)
        super().teardown()

    def before_call(self, case):
        authenticate(case)
        point_at_existing_objects(case)


def test_sequences_of_calls_keep_to_the_schema(target):
    Sequences.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=5,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
