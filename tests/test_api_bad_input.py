"""Bad input to the API is a 4xx naming the field, never a 500, and nothing is created.

What psycopg refuses (NUL, lone surrogates) is what matters on PostgreSQL: CI runs
this module there (DATABASE_URL); on SQLite the same answers are expected.
"""

import pytest

from audit.models import AuditEvent
from runs.models import TaskRun, WorkflowRun
from runs.testing import use_workflows
from tests.api_world import ENGINE_WORKFLOWS, build_world
from workflows.parameter_limits import MAX_SAFE_INTEGER

from .test_api_errors import assert_error

NUL = "Text may not contain NUL (\\u0000) characters."
SURROGATE = (
    "Text may not contain lone surrogates (\\ud800 to \\udfff): they are not Unicode characters."
)
SALES = "/workflows/sales_report/runs"  # the demo: region, day, top_n, threshold, recipients…


@pytest.fixture
def world(db):
    with use_workflows(ENGINE_WORKFLOWS):
        yield build_world()


def start(world, raw: str, **headers):
    return world.api("admin").post(SALES, raw=raw, **headers)


@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        ('{"parameters": {"recipients": ["\\ud800"]}}', {"recipients": [SURROGATE]}),
        ('{"parameters": {"recipients": ["ops@example.com", "\\u0000"]}}', {"recipients": [NUL]}),
        ('{"parameters": {"region": "\\udfff"}}', {"region": [SURROGATE]}),
        ('{"parameters": {"top_n": "3\\u0000"}}', {"top_n": [NUL]}),
        ('{"parameters": {"threshold": "\\ud800"}}', {"threshold": [SURROGATE]}),
        (
            '{"parameters": {"\\ud800": 1}}',
            {"\\ud800": ["Unknown parameter: this workflow has no parameter named '\\ud800'."]},
        ),
    ],
)
def test_text_postgresql_cannot_store_is_a_422_naming_the_parameter(world, raw, errors):
    response = start(world, raw)

    body = assert_error(response, 422)
    assert body["errors"] == errors
    assert not WorkflowRun.objects.exists()


def test_a_reason_postgresql_cannot_store_is_a_422_and_the_task_is_unchanged(world):
    run = world.start()
    before = TaskRun.objects.get(run=run, task_name="produce")

    response = world.api("editor").post(
        f"/runs/{run.pk}/tasks/produce/mark", raw='{"state": "failed", "reason": "bad \\udc80"}'
    )

    assert assert_error(response, 422)["errors"] == {"reason": [SURROGATE]}
    after = TaskRun.objects.get(pk=before.pk)
    assert (after.state, after.note) == (before.state, "")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"search": "a\x00b"}, "search"),
        ({"workflow": "data\x00edge"}, "workflow"),
        ({"cursor": "\x00"}, "cursor"),
        ({"cursor": "W1wiXHUwMDAwXCIsIDFd"}, "cursor"),  # base64 of ["\u0000", 1]
    ],
)
def test_query_strings_with_nul_are_a_422(world, query, field):
    path = "/workflows" if "search" in query else "/runs"

    response = world.api("viewer").get(path, query)

    assert field in assert_error(response, 422)["errors"]


def test_an_idempotency_key_with_a_nul_is_a_422_and_starts_nothing(world):
    response = start(world, '{"parameters": {}}', **{"Idempotency-Key": "key\x00"})

    assert "Idempotency-Key" in assert_error(response, 422)["errors"]
    assert not WorkflowRun.objects.exists()


# --- Numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "errors"),
    [
        (
            f'{{"top_n": {MAX_SAFE_INTEGER + 1}}}',
            {"top_n": [f"Must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}."]},
        ),
        ('{"top_n": 100000000000000000000000000000}', None),
        ('{"top_n": 1e400}', {"top_n": ["Enter a whole number."]}),
        ('{"threshold": "1e999999"}', None),
        ('{"threshold": 1e400}', {"threshold": ["Enter a number."]}),
    ],
)
def test_numbers_beyond_what_json_and_the_database_hold_are_a_422(world, parameters, errors):
    response = start(world, f'{{"parameters": {parameters}}}')

    body = assert_error(response, 422)
    if errors:
        assert body["errors"] == errors
    assert not WorkflowRun.objects.exists()


def test_a_huge_run_id_is_a_422_not_a_database_overflow(world):
    response = world.api("viewer").get(f"/runs/{2**64}")

    assert "run_id" in assert_error(response, 422)["errors"]


# --- Short answers ----------------------------------------------------------------------------


def test_a_422_never_echoes_back_a_huge_value(world):
    name = "k" * 500_000

    unknown_parameter = start(world, f'{{"parameters": {{"{name}": 1}}}}')
    unknown_field = start(world, f'{{"parameters": {{}}, "{name}": 1}}')
    bad_choice = start(world, f'{{"parameters": {{"region": "{name}"}}}}')

    for response in (unknown_parameter, unknown_field, bad_choice):
        assert_error(response, 422)
        assert len(response.content) < 1000, response.content[:300]
    assert "k" * 199 + "…" in unknown_parameter.json()["errors"]
    assert not WorkflowRun.objects.exists()


def test_a_422_names_at_most_twenty_fields(world):
    keys = ", ".join(f'"unknown_{n}": 1' for n in range(5000))

    response = start(world, f'{{"parameters": {{{keys}}}}}')

    assert len(assert_error(response, 422)["errors"]) == 20
    assert len(response.content) < 5000


# --- null and missing keys --------------------------------------------------------------------


def test_a_missing_key_takes_the_default_and_null_is_none_only_when_optional(world):
    response = start(world, '{"parameters": {"day": null, "top_n": 5}}')

    assert response.status_code == 201, response.content
    assert WorkflowRun.objects.get().parameters == {
        "region": "north",
        "day": None,
        "top_n": 5,
        "threshold": "2500",
        "recipients": ["ops@example.com"],
        "dry_run": True,
    }


@pytest.mark.parametrize("name", ["region", "top_n", "threshold", "recipients", "dry_run"])
def test_an_explicit_null_for_a_parameter_that_is_not_optional_is_a_422(world, name):
    response = start(world, f'{{"parameters": {{"{name}": null}}}}')

    assert assert_error(response, 422)["errors"] == {name: ["This field is required."]}
    assert not WorkflowRun.objects.exists()


# --- Words instead of regular expressions; the schema says what a 422 means ---------------------


def test_a_value_off_its_pattern_is_told_in_words_not_as_a_regex(world):
    response = start(world, '{"parameters": {}}', **{"Idempotency-Key": "two words"})
    listed = world.api("viewer").get("/runs", {"cursor": "not a cursor!"})
    marked = world.api("editor").post(
        f"/runs/{world.start().pk}/tasks/produce/mark", {"state": "failed", "reason": "  "}
    )

    assert assert_error(response, 422)["errors"] == {
        "Idempotency-Key": ["Use 1 to 200 printable ASCII characters without spaces, e.g. a UUID."]
    }
    assert assert_error(listed, 422)["errors"] == {
        "cursor": ["Invalid cursor: pass the next_cursor of the previous page unchanged."]
    }
    assert assert_error(marked, 422)["errors"] == {"reason": ["Say why you mark this task."]}


def test_the_schema_says_what_each_error_status_means(world):
    schema = world.api("viewer").get("/openapi.json").json()
    start_run = schema["paths"]["/api/v1/workflows/{slug}/runs"]["post"]
    list_runs = schema["paths"]["/api/v1/runs"]["get"]
    cursor = next(p for p in list_runs["parameters"] if p["name"] == "cursor")

    assert start_run["responses"]["422"]["description"].startswith(
        "Invalid values: a parameter the workflow does not have"
    )
    assert start_run["responses"]["413"]["description"] == "Body over 1 MiB."
    assert start_run["responses"]["201"]["links"]["GetRun"] == {
        "operationId": "runs_api_get_run",
        "parameters": {"run_id": "$response.body#/id"},
    }
    assert "not the `next_cursor` of a page" in list_runs["responses"]["422"]["description"]
    assert cursor["schema"]["anyOf"][0]["pattern"] == "^[A-Za-z0-9_-]+$"


def test_a_nul_in_the_user_agent_does_not_stop_the_audited_action(world):
    response = world.api("admin").post(
        "/workflows/data_edge/runs", {"parameters": {}}, **{"User-Agent": "bad\x00agent"}
    )

    assert response.status_code == 201, response.content
    event = AuditEvent.objects.filter(verb="run.triggered").get()
    assert event.user_agent == "bad\\u0000agent"
