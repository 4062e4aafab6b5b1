"""The Grafana dashboard's queries, run by a real Prometheus that scraped a working Baton.

Grafana cannot be installed here, so Debian's Prometheus stands in for it: it scrapes
/metrics (with the token) of a live server while a real scheduler starts two workflows
every second and a real worker runs them (one succeeds, one fails after a retry), and
every PromQL expression of deploy/grafana/dashboards/baton.json must return a number.
"""

import json
import math
import os
import shutil
import signal
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.processes import free_port, wait_until
from workflows.models import Workflow, WorkflowSchedule
from workflows.schedules import BATON_TASK

from .conftest import ROOT, WorkerProcess
from .test_scheduler_processes import SchedulerProcess

pytestmark = pytest.mark.integration

PROMETHEUS = "/usr/bin/prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "baton.json"
TOKEN = "prometheus-test-token"
# What Grafana puts in place of the dashboard's variables ($workflow: "All").
VARIABLES = {"$__rate_interval": "15s", "$workflow": ".*"}


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def as_prometheus_reads_it(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


class PrometheusProcess:
    """Debian's prometheus scraping one target every second, its data in its own folder."""

    def __init__(self, folder: Path, target: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = folder / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: baton\n"
            f"    authorization: {{type: Bearer, credentials: {TOKEN}}}\n"
            f"    static_configs: [{{targets: ['{target}']}}]\n"
        )
        self.log = open(folder / "prometheus.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def query(self, expr: str) -> list[dict]:
        answer = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5)
        answer.raise_for_status()
        return answer.json()["data"]["result"]

    def ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def has_numbers(result: list[dict]) -> bool:
    return any(math.isfinite(float(series["value"][1])) for series in result)


def schedule_every_second(*slugs: str) -> None:
    every_second = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    start = timezone.now().replace(microsecond=0) + timedelta(seconds=1)
    for slug in slugs:
        task = PeriodicTask.objects.create(
            name=f"{slug} every second", task=BATON_TASK, interval=every_second, start_time=start
        )
        workflow = Workflow.objects.get(slug=slug)
        Workflow.objects.filter(pk=workflow.pk).update(max_active_runs=100)
        WorkflowSchedule.objects.create(periodic_task=task, workflow=workflow)


@pytest.fixture
def prometheus(tmp_path, live_server):
    if not shutil.which(PROMETHEUS):
        pytest.fail(f"{PROMETHEUS} is missing: apt-get install prometheus")
    server = PrometheusProcess(tmp_path, live_server.url.removeprefix("http://"))
    try:
        wait_until(server.ready, 20, "Prometheus did not start")
        yield server
    finally:
        server.stop()


def test_every_dashboard_query_returns_data(
    loaded, worker_env, processes, settings, live_server, prometheus
):
    settings.BATON_METRICS_TOKEN = TOKEN
    settings.BATON_METRICS_MAX_AGE = 0.5
    schedule_every_second("metered_success", "metered_failure")
    worker = processes(WorkerProcess, worker_env, "worker")
    scheduler = processes(SchedulerProcess, worker_env, "scheduler")  # both boot at once
    worker.wait_ready()
    scheduler.wait_for("Scheduler is the leader")

    queries = {expr: as_prometheus_reads_it(expr) for expr in dashboard_queries()}
    assert len(queries) >= 12
    missing = dict(queries)

    def all_answered() -> bool:
        for expr, promql in list(missing.items()):
            if has_numbers(prometheus.query(promql)):
                del missing[expr]
        return not missing

    try:
        wait_until(all_answered, 30, "some dashboard queries returned no data")
    except AssertionError:
        up = prometheus.query('up{job="baton"}')
        pytest.fail(f"No data for {sorted(missing)}; up: {up}; log: {prometheus.log.name}")
    workflows = requests.get(
        f"{prometheus.url}/api/v1/label/workflow/values",
        params={"match[]": "baton_runs"},
        timeout=5,
    ).json()["data"]
    assert {"metered_success", "metered_failure"} <= set(workflows)  # the $workflow variable
