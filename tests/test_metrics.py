"""/metrics: who may read it, the shared snapshot, and its series against a known database."""

import gzip
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from audit.recorder import Verb, record_event
from config.networks import BadNetworkSetting, parse_networks
from runs.metrics import snapshot
from runs.metrics.counters import MetricCounter, UnknownCounter, increment
from runs.models import TaskAttempt, TaskRun, WorkflowRun
from runs.presence import ProcessHeartbeat
from tests.processes import wait_until
from workflows.models import Workflow

TOKEN = "scrape-me-9f2c"
WITH_TOKEN = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


def samples(text: str) -> dict:
    """{(sample name, frozenset of labels): value} of an exposition."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels) -> float:
    return found[name, frozenset(labels.items())]


@pytest.fixture(autouse=True)
def _fresh_values_each_scrape(settings):
    """Every scrape reads the database (the snapshot has tests of its own below)."""
    settings.BATON_METRICS_MAX_AGE = 0
    cache.delete(snapshot.KEY)
    yield
    cache.delete(snapshot.KEY)


# --- who may read it -----------------------------------------------------------------------


@override_settings(BATON_METRICS_TOKEN="", BATON_METRICS_ALLOWED_NETWORKS=[])
def test_it_is_off_without_a_token_or_networks(client, db):
    response = client.get("/metrics", **WITH_TOKEN)
    assert response.status_code == 404
    assert b"Metrics are turned off" in response.content
    assert b"BATON_METRICS_TOKEN" in response.content


@override_settings(BATON_METRICS_TOKEN=TOKEN, BATON_METRICS_ALLOWED_NETWORKS=[])
def test_it_answers_the_token_without_a_session_or_a_known_host(client, db):
    response = client.get("/metrics", HTTP_HOST="web:8000", **WITH_TOKEN)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"# TYPE baton_runs gauge" in response.content


@override_settings(BATON_METRICS_TOKEN=TOKEN, BATON_METRICS_ALLOWED_NETWORKS=[])
def test_it_refuses_a_missing_or_wrong_token_saying_what_is_needed(client, db):
    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-it")
    assert (missing.status_code, wrong.status_code) == (403, 403)
    assert b"Authorization: Bearer <BATON_METRICS_TOKEN>" in missing.content
    assert b"is not the right one" in wrong.content
    assert b"baton_" not in missing.content + wrong.content


@override_settings(BATON_METRICS_TOKEN="", BATON_METRICS_ALLOWED_NETWORKS=["10.1.0.0/16"])
def test_an_allowed_network_needs_no_token_and_others_are_refused(client, db):
    inside = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    outside = client.get("/metrics", REMOTE_ADDR="192.0.2.9")
    assert inside.status_code == 200
    assert outside.status_code == 403
    assert b"this request came from 192.0.2.9" in outside.content


@override_settings(BATON_METRICS_TOKEN=TOKEN, BATON_METRICS_ALLOWED_NETWORKS=[])
def test_it_answers_get_only(client, db):
    response = client.post("/metrics", **WITH_TOKEN)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_a_bad_network_is_named():
    with pytest.raises(BadNetworkSetting, match="'10.0.0.300/8' is not an IP address"):
        parse_networks(["10.0.0.0/8", "10.0.0.300/8"], setting="BATON_METRICS_ALLOWED_NETWORKS")


# --- the shared snapshot ------------------------------------------------------------------


def _runs_started(client, **headers) -> float:
    response = client.get("/metrics", **WITH_TOKEN, **headers)
    text = response.content
    if response.get("Content-Encoding") == "gzip":
        text = gzip.decompress(text)
    found = samples(text.decode())
    return value(found, "baton_runs_started_total", workflow="billing", trigger="manual")


@pytest.fixture
def snapshotted(settings, transactional_db):
    settings.BATON_METRICS_TOKEN = TOKEN
    settings.BATON_METRICS_MAX_AGE = 10
    billing = Workflow.objects.create(slug="billing", title="Billing")
    now = timezone.now()
    _run(billing, 1, "manual", "success", started=now, seconds=1, now=now)
    return billing


def test_a_scrape_within_the_max_age_is_answered_from_the_snapshot(snapshotted, client):
    assert _runs_started(client) == 1
    now = timezone.now()
    _run(snapshotted, 2, "manual", "success", started=now, seconds=1, now=now)
    assert _runs_started(client) == 1  # the snapshot's value
    response = client.get("/metrics", **WITH_TOKEN, HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert response["Content-Encoding"] == "gzip"
    assert b"baton_runs_started_total" in gzip.decompress(response.content)


def test_a_stale_snapshot_is_served_while_a_fresh_one_is_made(snapshotted, client):
    assert _runs_started(client) == 1
    made_at, packed = cache.get(snapshot.KEY)
    cache.set(snapshot.KEY, (made_at - 15, packed))  # older than the max age (10 s)
    now = timezone.now()
    _run(snapshotted, 2, "manual", "success", started=now, seconds=1, now=now)

    assert _runs_started(client) == 1  # answered at once, from the stale snapshot
    wait_until(lambda: cache.get(snapshot.KEY)[0] > made_at, 10, "no fresh snapshot was made")
    assert _runs_started(client) == 2  # the background refresh's
    assert cache.get(snapshot.LOCK) is None


def test_a_snapshot_far_too_old_is_not_served(snapshotted, client):
    assert _runs_started(client) == 1
    made_at, packed = cache.get(snapshot.KEY)
    cache.set(snapshot.KEY, (made_at - 10 * snapshot.STALE_LIMIT - 1, packed))
    now = timezone.now()
    _run(snapshotted, 2, "manual", "success", started=now, seconds=1, now=now)
    assert _runs_started(client, HTTP_ACCEPT_ENCODING="gzip") == 2


# --- counters ------------------------------------------------------------------------------


def test_increment_adds_one_to_the_same_row_each_time(db):
    increment("container_starts", outcome="started")
    increment("container_starts", outcome="started")
    increment("container_starts", outcome="failed")
    rows = MetricCounter.objects.order_by("labels").values_list("name", "labels", "value")
    assert list(rows) == [
        ("container_starts", '{"outcome": "failed"}', 1),
        ("container_starts", '{"outcome": "started"}', 2),
    ]


def test_increment_refuses_an_undeclared_counter_and_counts_nothing(db):
    with pytest.raises(UnknownCounter, match="'pizzas' with labels"):
        increment("pizzas", outcome="eaten")
    with pytest.raises(UnknownCounter, match="'container_starts' with labels"):
        increment("container_starts", colour="red")
    assert not MetricCounter.objects.exists()


# --- the series against a known database ---------------------------------------------------


def _run(workflow, number, trigger, state, *, started=None, seconds=None, lag=None, now):
    created = now - timedelta(minutes=10)
    return WorkflowRun.objects.create(
        workflow=workflow,
        number=number,
        trigger=trigger,
        state=state,
        created_at=created,
        logical_date=created - timedelta(seconds=lag) if lag is not None else None,
        started_at=started,
        finished_at=started + timedelta(seconds=seconds) if seconds is not None else None,
    )


def _task(run, name, state, *, attempt, start=None, seconds=None, **fields):
    return TaskRun.objects.create(
        run=run,
        task_name=name,
        state=state,
        attempt=attempt,
        started_at=start,
        finished_at=start + timedelta(seconds=seconds) if seconds is not None else None,
        **fields,
    )


@pytest.fixture
def known(db):
    """Two workflows, five runs, their tasks, two workers (one silent), a leader, counters."""
    now = timezone.now()
    t0 = now - timedelta(minutes=5)
    billing = Workflow.objects.create(slug="billing", title="Billing")
    reports = Workflow.objects.create(slug="reports", title="Reports", is_paused=True)
    r1 = _run(billing, 1, "manual", "success", started=t0, seconds=3, now=now)
    _run(billing, 2, "schedule", "failed", started=t0, seconds=100, lag=0.3, now=now)
    r3 = _run(billing, 3, "schedule", "running", started=t0, lag=2, now=now)
    _run(billing, 4, "manual", "queued", now=now)
    _run(reports, 1, "api", "success", started=t0, seconds=20, now=now)
    _task(r1, "extract", "success", attempt=1, start=t0, seconds=2)
    load = _task(r1, "load", "success", attempt=2, start=t0, seconds=0.7)
    TaskAttempt.objects.create(
        task_run=load, number=1, state="failed", started_at=t0, finished_at=t0 + timedelta(0, 0.4)
    )
    _task(r3, "extract", "queued", attempt=0, queue="big", queued_at=now - timedelta(seconds=30))
    _task(r3, "load", "running", attempt=1, start=t0)
    ProcessHeartbeat.objects.create(
        kind="worker", hostname="a", pid=1, queues=["big", "default"], seen_at=now
    )
    ProcessHeartbeat.objects.create(
        kind="worker", hostname="b", pid=2, queues=["default"], seen_at=now - timedelta(hours=1)
    )
    ProcessHeartbeat.objects.create(
        kind="scheduler", hostname="a", pid=3, is_leader=True, tick_seconds=0.25, seen_at=now
    )
    ProcessHeartbeat.objects.create(kind="scheduler", hostname="b", pid=4, seen_at=now)
    increment("environment_builds", outcome="built")
    increment("environment_builds", outcome="built")
    with transaction.atomic():
        record_event(verb=Verb.RUN_TRIGGERED, actor_label="alice", obj=r1, workflow=billing)
        record_event(verb=Verb.RUN_TRIGGERED, actor_label="alice", obj=r3, workflow=billing)
    return now


@pytest.fixture
def scraped(known, client):
    with override_settings(BATON_METRICS_TOKEN=TOKEN):
        response = client.get("/metrics", **WITH_TOKEN)
    assert response.status_code == 200
    return samples(response.content.decode())


def test_runs_by_workflow_trigger_and_state(scraped):
    assert value(scraped, "baton_runs", workflow="billing", trigger="manual", state="success") == 1
    assert value(scraped, "baton_runs", workflow="billing", trigger="schedule", state="failed") == 1
    assert value(scraped, "baton_runs", workflow="billing", trigger="manual", state="queued") == 1
    assert value(scraped, "baton_runs", workflow="reports", trigger="api", state="success") == 1
    assert value(scraped, "baton_runs_started_total", workflow="billing", trigger="manual") == 1
    assert value(scraped, "baton_runs_started_total", workflow="billing", trigger="schedule") == 2
    demos = Workflow.objects.exclude(slug__in=["billing", "reports"]).count()  # examples app
    assert value(scraped, "baton_workflows", state="active") == 1 + demos
    assert value(scraped, "baton_workflows", state="paused") == 1


def test_run_durations_of_finished_runs(scraped):
    name = "baton_run_duration_seconds"
    assert value(scraped, f"{name}_count", workflow="billing") == 2  # 3 s and 100 s
    assert value(scraped, f"{name}_bucket", workflow="billing", le="1.0") == 0
    assert value(scraped, f"{name}_bucket", workflow="billing", le="5.0") == 1
    assert value(scraped, f"{name}_bucket", workflow="billing", le="300.0") == 2
    assert value(scraped, f"{name}_sum", workflow="billing") == pytest.approx(103)


def test_task_attempts_retries_and_attempt_durations(scraped):
    load = {"workflow": "billing", "task": "load"}
    assert value(scraped, "baton_task_attempts_total", **load) == 3  # 2 in run 1, 1 in run 3
    assert value(scraped, "baton_task_retries_total", **load) == 1
    assert value(scraped, "baton_task_retries_total", workflow="billing", task="extract") == 0
    name = "baton_task_duration_seconds"
    assert value(scraped, f"{name}_count", **load) == 2  # the failed 0.4 s and the 0.7 s success
    assert value(scraped, f"{name}_bucket", **load, le="0.5") == 1
    assert value(scraped, f"{name}_bucket", **load, le="1.0") == 2
    assert value(scraped, f"{name}_sum", **load) == pytest.approx(1.1)


def test_queues_workers_and_schedulers(scraped):
    assert value(scraped, "baton_tasks_queued", queue="big") == 1
    assert value(scraped, "baton_tasks_queued", queue="default") == 0
    assert value(scraped, "baton_tasks_running", queue="default") == 1
    age = value(scraped, "baton_tasks_queued_oldest_age_seconds", queue="big")
    assert 30 <= age < 40
    assert value(scraped, "baton_tasks_queued_oldest_age_seconds", queue="default") == 0
    assert value(scraped, "baton_workers_alive", queue="default") == 1  # b is silent
    assert value(scraped, "baton_workers_alive", queue="big") == 1
    assert value(scraped, "baton_schedulers_alive", role="leader") == 1
    assert value(scraped, "baton_schedulers_alive", role="standby") == 1
    assert value(scraped, "baton_scheduler_tick_duration_seconds") == 0.25


def test_scheduler_lag_counters_and_audit_events(scraped):
    name = "baton_scheduler_lag_seconds"
    assert value(scraped, f"{name}_count") == 2  # 0.3 s and 2 s late
    assert value(scraped, f"{name}_bucket", le="0.5") == 1
    assert value(scraped, f"{name}_bucket", le="2.5") == 2
    assert value(scraped, "baton_environment_builds_total", outcome="built") == 2
    assert value(scraped, "baton_audit_events_total", verb="run.triggered") == 2


@override_settings(BATON_METRICS_TOKEN=TOKEN)
def test_an_unreachable_database_answers_503_not_a_traceback(db, monkeypatch):
    from django.db import OperationalError
    from django.test import Client

    def unreachable():
        raise OperationalError("connection refused")

    monkeypatch.setattr(snapshot, "compute_text", unreachable)
    response = Client(raise_request_exception=False).get("/metrics", **WITH_TOKEN)
    assert response.status_code == 503
    assert b"The database is busy or restarting" in response.content
    assert b"Traceback" not in response.content


def test_a_scrape_costs_the_same_queries_however_large_the_history(known, client, settings):
    settings.BATON_METRICS_TOKEN = TOKEN
    client.get("/metrics", **WITH_TOKEN)  # the workflows' code is loaded once per process
    # Heartbeats, workflow slugs, workflows, runs, task runs, kept attempts, queues,
    # scheduler lag, counters, audit events.
    with CaptureQueriesContext(connection) as small:
        client.get("/metrics", **WITH_TOKEN)
    billing = Workflow.objects.get(slug="billing")
    for number in range(10, 40):
        run = _run(billing, number, "api", "failed", started=known, seconds=2, now=known)
        load = _task(run, "load", "failed", attempt=1, start=known, seconds=1)
        TaskAttempt.objects.create(task_run=load, number=1, state="failed")
    with CaptureQueriesContext(connection) as large:
        client.get("/metrics", **WITH_TOKEN)
    assert len(small) == len(large) == 10


# --- the counters' callers: environment builds, container starts --------------------------


def _counted(name: str) -> dict:
    rows = MetricCounter.objects.filter(name=name)
    return {row.label_values["outcome"]: row.value for row in rows}


def test_environment_builds_are_counted_built_or_failed(db, settings, tmp_path):
    from runs.environments.build import EnvironmentBuildFailed, environment_for
    from runs.environments.spec import EnvironmentSpec

    settings.BATON_ENV_DIR = tmp_path / "envs"
    settings.BATON_PIP_FIND_LINKS, settings.BATON_PIP_INDEX_URL = str(tmp_path), ""  # no index
    plain = EnvironmentSpec.for_task((), None)
    for _ in range(2):  # built once, then found ready
        with environment_for(plain, log=lambda text: None) as path:
            assert (path / "bin" / "python").exists()
    missing = EnvironmentSpec.for_task(("batonnosuchpkg==1.0",), None)
    with pytest.raises(EnvironmentBuildFailed), environment_for(missing, log=lambda text: None):
        pass
    assert _counted("environment_builds") == {"built": 1, "failed": 1}


def test_container_starts_are_counted_started_or_failed(db):
    from runs.containers.backend import ContainerRequest, ImageUnavailable, Started
    from runs.containers.step import start_container

    class Backend:
        def __init__(self, image_exists: bool):
            self.image_exists = image_exists

        def start(self, request, *, progress):
            if not self.image_exists:
                raise ImageUnavailable(f"No image {request.image}.")
            return Started(id="c0ffee", image_digest="sha256:0")

    request = ContainerRequest(image="busybox", command=["true"], env={}, labels={}, name="x")
    start_container(Backend(True), request, progress=lambda text: None)
    start_container(Backend(True), request, progress=lambda text: None)
    with pytest.raises(ImageUnavailable):
        start_container(Backend(False), request, progress=lambda text: None)
    assert _counted("container_starts") == {"started": 2, "failed": 1}
