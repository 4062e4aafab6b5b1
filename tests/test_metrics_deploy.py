"""The monitoring files of deploy/: the Prometheus config and the dashboard's PromQL, by promtool.

No server is needed: promtool parses the configuration and, as recording rules, every
expression of the dashboard (tests/integration/test_metrics_prometheus.py runs them).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "baton.json"
DATASOURCES = ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
VARIABLES = {"$__rate_interval": "1m", "$workflow": ".*"}


@pytest.fixture(scope="module")
def promtool():
    path = shutil.which("promtool")
    if path is None:
        message = "promtool is missing: apt-get install prometheus"
        if os.environ.get("BATON_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def check(promtool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([promtool, "check", *args], capture_output=True, text=True, timeout=30)


def test_the_prometheus_config_is_valid(promtool, tmp_path):
    token = tmp_path / "metrics_token"
    token.write_text("a-token")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        PROMETHEUS_CONFIG.read_text().replace("/run/secrets/metrics_token", str(token))
    )
    checked = check(promtool, "config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    (job,) = yaml.safe_load(config.read_text())["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"] == [{"targets": ["web:8000"]}]


def test_every_dashboard_expression_is_valid_promql(promtool, tmp_path):
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    for variable, value in VARIABLES.items():
        exprs = [expr.replace(variable, value) for expr in exprs]
    rules = tmp_path / "rules.yml"
    rules.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "dashboard",
                        "rules": [
                            {"record": f"dashboard:q{n}", "expr": e} for n, e in enumerate(exprs)
                        ],
                    }
                ]
            }
        )
    )
    checked = check(promtool, "rules", str(rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in checked.stdout


def test_every_panel_uses_the_provisioned_datasource():
    (datasource,) = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    dashboard = json.loads(DASHBOARD.read_text())
    uids = {panel["datasource"]["uid"] for panel in dashboard["panels"]}
    uids |= {t["datasource"]["uid"] for panel in dashboard["panels"] for t in panel["targets"]}
    assert uids == {datasource["uid"]}
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
