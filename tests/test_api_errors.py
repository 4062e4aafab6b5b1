"""Every error is JSON of one shape: malformed JSON, wrong types, unknown fields, big bodies…"""

import re

import pytest
from django.test import Client

from config.api import MAX_BODY_BYTES
from runs.models import WorkflowRun
from runs.testing import use_workflows
from tests.api_world import API, ENGINE_WORKFLOWS, build_world


@pytest.fixture
def world(db):
    with use_workflows(ENGINE_WORKFLOWS):
        yield build_world()


def assert_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_malformed_json_is_a_400_that_says_so(world):
    response = world.api("operator").post("/workflows/data_edge/runs", raw='{"parameters": {')

    body = assert_error(response, 400)
    assert body["detail"].startswith("Malformed JSON body: Expecting")
    assert not WorkflowRun.objects.exists()


def test_a_body_of_the_wrong_type_is_a_422(world):
    response = world.api("operator").post("/workflows/data_edge/runs", {"parameters": [1, 2]})

    body = assert_error(response, 422)
    assert body["detail"] == "Invalid request values: parameters."
    assert body["errors"] == {"parameters": ["Input should be a valid dictionary"]}


def test_a_body_that_is_not_an_object_is_a_422(world):
    response = world.api("operator").post("/workflows/data_edge/runs", raw="[1, 2]")

    assert list(assert_error(response, 422)["errors"]) == ["body"]


def test_an_unknown_field_is_refused_not_ignored(world):
    response = world.api("operator").post(
        "/workflows/data_edge/runs", {"parameters": {}, "priority": "high"}
    )

    body = assert_error(response, 422)
    assert body["errors"] == {"priority": ["Extra inputs are not permitted"]}
    assert not WorkflowRun.objects.exists()


def test_a_query_value_of_the_wrong_type_is_a_422(world):
    response = world.api("viewer").get("/runs", {"page_size": "lots"})

    assert list(assert_error(response, 422)["errors"]) == ["page_size"]


def test_an_oversized_body_is_a_413_before_it_is_read(world):
    big = '{"parameters": {"n": "' + "9" * MAX_BODY_BYTES + '"}}'

    response = world.api("operator").post("/workflows/data_edge/runs", raw=big)

    body = assert_error(response, 413)
    assert body["detail"] == f"Request body too large: the limit is {MAX_BODY_BYTES} bytes."
    assert not WorkflowRun.objects.exists()


def test_an_unknown_endpoint_is_a_json_404(world):
    response = world.api("viewer").get("/nothing/here")

    body = assert_error(response, 404)
    assert body["detail"] == "No such API endpoint: see /api/v1/docs for the list."
    assert_error(Client().get(f"{API}/"), 404)


def test_a_wrong_method_is_a_json_405(world):
    response = world.api("viewer").client.delete(f"{API}/workflows/data_edge")

    body = assert_error(response, 405)
    assert body["detail"] == "Method DELETE is not allowed here: GET."
    assert response["Allow"] == "GET"


def test_a_server_error_is_json_without_a_traceback(world, monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("workflows.api.describe_workflows", explode)

    response = world.api("viewer").get("/workflows")

    body = assert_error(response, 500)
    assert "secret internals" not in response.content.decode()
    assert body["detail"].startswith("Internal server error")
    assert "secret internals" in caplog.text  # logged for the admins


def test_the_docs_load_nothing_from_outside(db):
    page = Client().get(f"{API}/docs")

    assert page.status_code == 200
    html = page.content.decode()
    assert "Baton API" in html
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", html)
    assert '"validatorUrl": null' in html
    assets = re.findall(r"(?:src|href)=\"(/static/ninja/[^\"]+)\"", html)
    assert {"/static/ninja/swagger-ui-bundle.js", "/static/ninja/swagger-ui.css"} <= set(assets)
    for asset in assets:
        served = Client().get(asset)
        assert served.status_code == 200, asset


def test_a_nul_character_is_refused_before_it_reaches_the_database(world):
    operator = world.api("operator")
    in_parameters = operator.post("/workflows/data_edge/runs", {"parameters": {"n": {"a": "\0"}}})
    run = world.start()
    in_reason = world.api("editor").post(
        f"/runs/{run.pk}/tasks/produce/mark", {"state": "failed", "reason": "bad\0byte"}
    )

    message = ["Text may not contain NUL (\\u0000) characters."]
    assert assert_error(in_parameters, 422)["errors"] == {"n": message}
    assert assert_error(in_reason, 422)["errors"] == {"reason": message}
    assert WorkflowRun.objects.count() == 1  # the one started above


def test_a_date_beyond_the_calendar_in_utc_is_a_422(world):
    response = world.api("viewer").get("/runs", {"created_before": "9999-12-31T23:00:00-05:00"})

    assert assert_error(response, 422)["errors"] == {
        "created_before": ["This date and time is out of range."]
    }


def test_nan_is_not_json(world):
    response = world.api("operator").post(
        "/workflows/data_edge/runs", raw='{"parameters": {"n": NaN}}'
    )

    assert assert_error(response, 400)["detail"] == "Malformed JSON body: NaN is not a JSON value."
