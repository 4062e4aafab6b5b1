"""Shared fixtures.

Services: a test that needs Redis or PostgreSQL asks for the ``redis_url`` or
``postgres`` fixture. Without the service it is skipped locally, and fails
when BATON_REQUIRE_SERVICES=1 (as in CI), so CI never passes by skipping.
"""

import os
import socket
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import translation

REQUIRE_SERVICES = os.environ.get("BATON_REQUIRE_SERVICES") == "1"
AUDIT_TABLES = ("accounts_auditevent", "accounts_auditchainhead")


@pytest.fixture(scope="session", autouse=True)
def _test_settings(tmp_path_factory):
    """A fast password hasher, a cache of this process's own, no audit checkpoint in var/.

    PBKDF2's million rounds cost ~0.3 s a password; MD5 is fine for test users
    (PBKDF2 stays listed, for users that real processes log in). The shared cache
    (database or Redis) would carry login-failure counts from one test, or one
    run, to the next: processes under test (integration) still use it.
    """
    with override_settings(
        BATON_AUDIT_CHECKPOINT=str(tmp_path_factory.mktemp("audit") / "checkpoint.json"),
        PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.MD5PasswordHasher",
            "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        ],
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    ):
        yield


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """Each test starts in the default language (English).

    A request in French leaves French active in the thread (LocaleMiddleware
    does not reset it), and the next test would read its messages in French.
    """
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _forget_run_info_after_each_test():
    """Run ids come back after a rolled-back test (SQLite): a worker's cached run info must not."""
    from runs.execution.statements import run_info  # the cached function, before a test patches it

    yield
    run_info.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def _test_flush_past_the_audit_truncate_trigger():
    """Transactional tests end with ``flush``: one TRUNCATE of every table.

    On PostgreSQL the audit tables refuse TRUNCATE (audit migration 0002); the
    tests' flush lifts their triggers for that statement, as the tables' owner can.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        guarded = [table for table in AUDIT_TABLES if table in tables]
        if not statements or not guarded:
            return statements
        return [
            *(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_truncate;" for table in guarded),
            *statements,
            *(f"ALTER TABLE {table} ENABLE TRIGGER {table}_no_truncate;" for table in guarded),
        ]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


def _missing_service(message: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} (BATON_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def _answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="session", autouse=True)
def _own_redis_database_per_xdist_worker():
    """Under xdist, each test process gets its own Redis database (db 0 + worker number).

    A test process's in-process code (an embedded worker on the settings' broker) would
    otherwise take the messages meant for another process's worker processes.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or not settings.BROKER_URL.startswith("redis"):
        yield
        return
    import dramatiq
    from django.utils.module_loading import import_string

    from runs.worker_hooks import prepare_broker

    parts = urlsplit(settings.BROKER_URL)
    base = int(parts.path.strip("/") or 0)
    url = urlunsplit(parts._replace(path=f"/{base + int(worker[2:])}"))
    previous_url, previous_broker = settings.BROKER_URL, dramatiq.get_broker()
    middleware = [import_string(name)() for name in settings.DRAMATIQ_BROKER["MIDDLEWARE"]]
    broker = import_string(settings.DRAMATIQ_BROKER["BROKER"])(url=url, middleware=middleware)
    for actor_name in previous_broker.get_declared_actors():
        broker.declare_actor(previous_broker.get_actor(actor_name))
    prepare_broker(broker)
    settings.BROKER_URL = url
    dramatiq.set_broker(broker)
    yield
    settings.BROKER_URL = previous_url
    dramatiq.set_broker(previous_broker)


@pytest.fixture(scope="session")
def redis_url():
    """BROKER_URL of a Redis that answers."""
    url = settings.BROKER_URL or os.environ.get("BATON_TEST_REDIS_URL", "")
    if not url:
        _missing_service("this test needs Redis: set BROKER_URL=redis://127.0.0.1:6379/0")
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError as exc:
        _missing_service(f"Redis at {url} does not answer: {exc}")
    return url


@pytest.fixture(scope="session")
def postgres():
    """Asserts the tests run on PostgreSQL (set DATABASE_URL=postgres://...)."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        _missing_service("this test needs PostgreSQL: set DATABASE_URL=postgres://...")
    return settings.DATABASES["default"]


@pytest.fixture(scope="session")
def docker_client():
    """A docker SDK client on a daemon that answers (this process's own dockerd if needed);
    DOCKER_HOST is set to it, for code under test and the processes the test starts."""
    import docker

    from tests.docker_daemon import DaemonUnavailable, docker_host

    try:
        host = docker_host()
    except DaemonUnavailable as exc:
        _missing_service(f"this test needs a Docker daemon: {exc}")
    previous = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = host
    client = docker.DockerClient(base_url=host)
    yield client
    client.close()
    if previous is None:
        os.environ.pop("DOCKER_HOST", None)
    else:
        os.environ["DOCKER_HOST"] = previous


@pytest.fixture(scope="session")
def busybox_image(docker_client):
    """The tag of a tiny local image (busybox-static), made with ``docker import``."""
    from tests.docker_daemon import DaemonUnavailable, busybox_image

    try:
        return busybox_image(docker_client)
    except DaemonUnavailable as exc:
        _missing_service(str(exc))


@pytest.fixture
def workflows_dir(tmp_path, settings):
    """An empty BATON_WORKFLOWS_DIR for the test to write workflow files into."""
    folder = tmp_path / "workflows"
    folder.mkdir()
    settings.BATON_WORKFLOWS_DIR = str(folder)
    return folder


def pytest_collection_modifyitems(config, items):
    """Mark tests by folder; under xdist (`make test`), each group runs on one worker.

    Integration tests share the one Redis (they flush its queues) and start real
    processes, so they run one after another on one worker while the others run
    the in-process tests; the browser tests share one Chromium.
    """
    for item in items:
        path = str(item.path)
        if "/tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
            item.add_marker(pytest.mark.xdist_group("services"))
        elif "/tests/browser/" in path:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory):
    """A folder of tiny wheels (tests/wheelhouse.py) to build isolated environments from."""
    from tests.wheelhouse import write_wheelhouse

    return write_wheelhouse(tmp_path_factory.mktemp("wheelhouse"))
