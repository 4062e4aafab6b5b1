"""A database that is busy or restarting answers 503 "try again", on pages and in the API."""

import pytest
from django.db import OperationalError
from django.db.models import QuerySet

from accounts.testing import make_user
from runs.testing import use_workflows
from tests.api_world import ENGINE_WORKFLOWS, build_world


@pytest.fixture
def database_locked(monkeypatch):
    """The next list query meets what a restart or SQLite's busy timeout raises."""

    def refuse(self, *args, **kwargs):
        raise OperationalError("database is locked")

    return lambda: monkeypatch.setattr(QuerySet, "_fetch_all", refuse)


@pytest.mark.django_db
def test_a_page_says_try_again_with_503(client, database_locked):
    client.force_login(make_user("operator"))
    client.raise_request_exception = False  # as a real server: the response is what counts
    database_locked()  # every query, the session's and the user's included
    response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Baton cannot reach its database just now" in response.content.decode()
    assert "Traceback" not in response.content.decode()


@pytest.mark.django_db
def test_the_api_says_try_again_in_its_error_shape(database_locked):
    with use_workflows(ENGINE_WORKFLOWS):
        world = build_world()
        api = world.api("operator")
        api.client.raise_request_exception = False
        database_locked()
        response = api.get("/runs")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "detail": "The database is busy or unreachable right now, and nothing was done: "
        "try again in a few seconds.",
        "errors": {},
    }
