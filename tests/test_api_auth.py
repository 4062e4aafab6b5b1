"""Who may call the API: Bearer tokens (valid, unknown, revoked, expired), the browser session."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken
from accounts.services import create_token, revoke_token
from runs.models import WorkflowRun
from runs.testing import use_workflows
from tests.api_world import API, ENGINE_WORKFLOWS, ApiClient, build_world


@pytest.fixture
def world(db):
    with use_workflows(ENGINE_WORKFLOWS):
        yield build_world()


def assert_refused(response, detail_part: str):
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert response["WWW-Authenticate"] == 'Bearer realm="baton"'
    body = response.json()
    assert detail_part in body["detail"]
    assert body["errors"] == {}


def test_it_answers_a_valid_token_as_its_user(world):
    response = world.api("viewer").get("/workflows")

    assert response.status_code == 200
    assert [w["slug"] for w in response.json()] == ["data_edge"]


def test_it_refuses_a_request_without_credentials(world):
    assert_refused(ApiClient().get("/workflows"), "Authentication required")


def test_it_refuses_an_unknown_token(world):
    response = ApiClient("baton_12345678_not-a-real-secret").get("/workflows")

    assert_refused(response, "Invalid, revoked or expired API token")


def test_it_refuses_a_revoked_token(world):
    revoke_token(token=ApiToken.objects.get(user=world.users["editor"]))

    response = world.api("editor").post("/workflows/data_edge/runs", {"parameters": {}})

    assert_refused(response, "Invalid, revoked or expired API token")
    assert not WorkflowRun.objects.exists()


def test_it_refuses_an_expired_token(world):
    now = timezone.now()
    _token, raw = create_token(
        user=world.users["viewer"], name="short", expires_at=now + timedelta(hours=1)
    )

    with time_machine.travel(now + timedelta(hours=1, seconds=1), tick=False):
        response = ApiClient(raw).get("/workflows")

    assert_refused(response, "Invalid, revoked or expired API token")


def test_it_refuses_the_token_of_a_deactivated_user(world):
    world.users["viewer"].is_active = False
    world.users["viewer"].save()

    assert_refused(world.api("viewer").get("/workflows"), "Invalid, revoked or expired")


def test_a_refused_token_is_not_rescued_by_a_logged_in_session(world):
    browser = Client()
    browser.force_login(world.users["editor"])

    response = ApiClient("baton_12345678_wrong", client=browser).get("/workflows")

    assert_refused(response, "Invalid, revoked or expired API token")


def test_it_accepts_the_browser_session_for_reading(world):
    browser = Client()
    browser.force_login(world.users["viewer"])

    response = browser.get(f"{API}/workflows/data_edge")

    assert response.status_code == 200
    assert response.json()["slug"] == "data_edge"


def test_a_session_post_needs_the_csrf_token(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.users["operator"])

    response = browser.post(
        f"{API}/workflows/data_edge/runs", {"parameters": {}}, content_type="application/json"
    )

    assert response.status_code == 403
    assert response.json() == {
        "detail": "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken "
        "header, or use an API token.",
        "errors": {},
    }
    assert not WorkflowRun.objects.exists()


def test_a_session_post_with_the_csrf_token_starts_a_run(world):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.users["operator"])
    browser.get(f"{API}/docs")  # any page that renders the CSRF token sets its cookie
    csrf = browser.cookies["csrftoken"].value

    response = browser.post(
        f"{API}/workflows/data_edge/runs",
        {"parameters": {"n": 3}},
        content_type="application/json",
        headers={"X-CSRFToken": csrf},
    )

    assert response.status_code == 201
    run = WorkflowRun.objects.get()
    assert (run.started_by, run.trigger, run.parameters) == (
        world.users["operator"],
        "api",
        {"n": 3},
    )


def test_a_token_post_needs_no_csrf_token(world):
    browser = Client(enforce_csrf_checks=True)

    response = ApiClient(world.tokens["operator"], client=browser).post(
        "/workflows/data_edge/runs", {"parameters": {}}
    )

    assert response.status_code == 201


def test_the_schema_and_docs_need_no_login(db):
    assert Client().get(f"{API}/openapi.json").status_code == 200
    assert Client().get(f"{API}/docs").status_code == 200
