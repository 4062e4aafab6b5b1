"""The login lockout holds across web processes: its counts live in a shared cache.

Two real `manage.py up` processes on one database, as behind a load balancer
(both get the same Host header, as a balancer forwards it): five wrong
passwords on the first, then the right one on the second is refused.
"""

import re
import uuid
from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password

from tests.processes import ManageProcess, free_port

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
HOST = "localhost"  # what a load balancer forwards to every web process
LOCKED = "Too many failed login attempts"


class WebProcess(ManageProcess):
    """`manage.py up` serving pages only (no scheduler, no worker threads)."""

    name = "the web process"

    def __init__(self, env: dict, log_path: Path, *options: str):
        self.port = free_port()
        super().__init__(
            ["up", "--no-scheduler", "--worker-threads", "0", "--port", str(self.port), *options],
            env,
            log_path,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_serving(self, timeout: float = 60) -> None:
        self.wait_while_alive(self._serving, timeout, "the web process did not start")

    def _serving(self) -> bool:
        try:
            requests.get(f"{self.url}/accounts/login/", headers={"Host": HOST}, timeout=2)
        except requests.ConnectionError:
            return False
        return True

    def log_in(self, username: str, password: str) -> requests.Response:
        browser = requests.Session()
        browser.headers["Host"] = HOST
        page = browser.get(f"{self.url}/accounts/login/", timeout=10).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        return browser.post(
            f"{self.url}/accounts/login/",
            data={"csrfmiddlewaretoken": token, "login": username, "password": password},
            allow_redirects=False,
            timeout=30,
        )


@pytest.fixture
def web_processes(tmp_path):
    started = []

    def start(env, name, *options):
        web = WebProcess(env, tmp_path / f"{name}.log", *options)
        started.append(web)
        web.wait_serving()
        return web

    yield start
    for web in started:
        web.stop()


@pytest.mark.parametrize("cache", ["redis", "database"])
def test_five_failures_on_one_web_process_lock_the_login_on_another(
    cache, worker_env, transactional_db, web_processes
):
    env = dict(worker_env)
    if cache == "database":
        env |= {"BROKER_URL": "", "REDIS_URL": ""}  # no Redis: the cache is a database table
    # Unique per run: a Redis cache keeps counts from an earlier run for five minutes.
    username = f"ops-{uuid.uuid4().hex[:8]}"
    # A superuser, so that `up` does not create its own admin; PBKDF2, because the
    # web processes do not have the tests' fast hasher.
    get_user_model().objects.create_superuser(
        username, email=f"{username}@example.com", password=None
    )
    get_user_model().objects.filter(username=username).update(
        password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )
    first = web_processes(env, "first")  # its `migrate` creates the cache table if needed
    second = web_processes(env, "second", "--no-migrate")

    failures = [first.log_in(username, "wrong guess") for _ in range(5)]
    refused = second.log_in(username, PASSWORD)

    assert all("not correct" in response.text for response in failures)
    assert refused.status_code == 200  # the form again, no redirect into the app
    assert LOCKED in refused.text
    assert "sessionid" not in refused.cookies
