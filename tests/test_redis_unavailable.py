"""Redis down (the shared cache: login-failure counts, rate limits): 503 "try again", no 500.

The cache points at a port where nothing listens, which is what a stopped Redis gives a
client: connection refused.
"""

import pytest
from django.db.models import QuerySet
from django.test import override_settings
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts.testing import make_user
from runs.testing import use_workflows
from tests.api_world import ENGINE_WORKFLOWS, build_world
from tests.processes import free_port

REDIS_MESSAGE = "Redis is unreachable right now, and nothing was done: try again in a few seconds."


@pytest.fixture
def redis_down():
    cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        "OPTIONS": {"socket_connect_timeout": 1},
    }
    with override_settings(CACHES={"default": cache}):  # Django re-reads the caches
        yield


@pytest.mark.django_db
def test_the_login_page_says_redis_is_unreachable_with_503(client, redis_down):
    make_user("alice", password="correct horse battery")
    client.raise_request_exception = False  # as a real server: the response is what counts
    response = client.post(
        reverse("account_login"), {"login": "alice", "password": "correct horse battery"}
    )
    page = response.content.decode()
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Baton cannot reach Redis just now" in page
    assert "Traceback" not in page
    assert "_auth_user_id" not in client.session  # nothing was done: not logged in


@pytest.mark.django_db
def test_the_api_says_redis_is_unreachable_in_its_error_shape(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    with use_workflows(ENGINE_WORKFLOWS):
        world = build_world()
        api = world.api("operator")
        api.client.raise_request_exception = False
        monkeypatch.setattr(QuerySet, "_fetch_all", refuse)
        response = api.get("/runs")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {"detail": REDIS_MESSAGE, "errors": {}}
