"""The deployment files, checked without building or starting anything.

compose.yaml by docker-compose itself, deploy/swarm-stack.yml by `docker stack config` (a
client-side command: no daemon), the image's entrypoint dispatch with stand-in programs,
and the Dockerfile's wiring to the entrypoint and to `make base-image`'s tag.
The real thing (build, stack up, a workflow end to end) is bench/stack.py, run by hand.
"""

import os
import re
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
COMPOSE_ENV = {"SECRET_KEY": "k" * 50, "POSTGRES_PASSWORD": "pw"}


def _clean_env(**extra) -> dict:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {**keep, **extra}


@pytest.fixture
def compose_config(tmp_path):
    """`docker-compose … <args>` on compose.yaml, with only ``env`` set."""
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed (Debian's docker-compose)")
    no_dotenv = tmp_path / "empty.env"  # not the .env a developer may keep beside compose.yaml
    no_dotenv.write_text("")

    def run(*args: str, env: dict) -> subprocess.CompletedProcess:
        return subprocess.run(
            [compose, "--project-directory", str(ROOT), "--env-file", str(no_dotenv)]
            + ["-f", str(ROOT / "compose.yaml"), *args],
            env=_clean_env(**env),
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


def test_compose_file_is_valid_and_wires_the_services(compose_config):
    result = compose_config("--profile", "observe", "config", env=COMPOSE_ENV)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]

    assert set(services) == {
        "postgres", "redis", "migrate", "web", "scheduler", "worker", "prometheus", "grafana"
    }  # fmt: skip
    assert services["scheduler"]["scale"] == 2
    assert services["migrate"]["command"] == "migrate"
    profiles = {name: service.get("profiles") for name, service in services.items()}
    assert profiles == dict.fromkeys(services, None) | {
        "prometheus": ["observe"],
        "grafana": ["observe"],
    }
    for name in ("web", "scheduler", "worker"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "redis": {"condition": "service_healthy"},
        }
        assert services[name]["healthcheck"]["test"][-2:] == ["healthcheck", name]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    web = services["web"]["environment"]
    assert web["DATABASE_URL"] == "postgres://baton:pw@postgres:5432/baton"
    assert (web["DEBUG"], web["BROKER_URL"]) == ("0", "redis://redis:6379/0")
    assert services["postgres"]["volumes"] == ["pgdata:/var/lib/postgresql/data:rw"]
    mounted = {}  # Compose 1.29 writes "source:target:mode"
    for name in ("prometheus", "grafana"):
        for source, target, _mode in (v.split(":") for v in services[name]["volumes"]):
            if source.startswith("/"):
                mounted[target] = Path(source).relative_to(ROOT)
    assert mounted == {
        "/etc/prometheus/prometheus.yml": Path("deploy/prometheus/prometheus.yml"),
        "/etc/grafana/provisioning": Path("deploy/grafana/provisioning"),
        "/var/lib/grafana/dashboards": Path("deploy/grafana/dashboards"),
    }
    for path in mounted.values():
        assert (ROOT / path).exists(), path


def test_compose_names_a_missing_secret(compose_config):
    result = compose_config("config", "-q", env={"POSTGRES_PASSWORD": "pw"})

    assert result.returncode != 0
    assert "set SECRET_KEY in .env" in result.stderr


def _stack_client() -> str:
    for client in (shutil.which("docker"), "/usr/local/bin/docker", "/usr/bin/docker"):
        if client and Path(client).exists():
            probe = subprocess.run([client, "stack", "config", "--help"], capture_output=True)
            if probe.returncode == 0:
                return client
    pytest.skip("no docker client here has `docker stack config` (Docker 23 or newer)")


def test_swarm_stack_is_valid_with_rolling_updates_secrets_and_placement():
    result = subprocess.run(
        [_stack_client(), "stack", "config", "-c", str(ROOT / "deploy" / "swarm-stack.yml")],
        env=_clean_env(BATON_IMAGE="baton:1.0", ALLOWED_HOSTS="baton.example.com"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    stack = yaml.safe_load(result.stdout)
    services = stack["services"]

    assert services["web"]["deploy"]["update_config"]["order"] == "start-first"
    assert services["web"]["deploy"]["replicas"] == 2
    assert services["scheduler"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 3
    assert services["worker-containers"]["deploy"]["placement"]["constraints"] == [
        "node.labels.baton.docker == true"
    ]
    for name in ("migrate", "web", "scheduler", "worker", "worker-containers"):
        environment = services[name]["environment"]
        assert environment["SECRET_KEY_FILE"] == "/run/secrets/baton_secret_key"
        assert environment["DATABASE_URL_FILE"] == "/run/secrets/baton_database_url"
        assert not {"SECRET_KEY", "DATABASE_URL", "GOOGLE_CLIENT_SECRET"} & set(environment)
        assert services[name]["deploy"]["restart_policy"]["condition"] in ("any", "on-failure")
    assert all(secret.get("external") for secret in stack["secrets"].values())


def test_swarm_stack_refuses_to_deploy_without_an_image():
    result = subprocess.run(
        [_stack_client(), "stack", "config", "-c", str(ROOT / "deploy" / "swarm-stack.yml")],
        env=_clean_env(ALLOWED_HOSTS="baton.example.com"),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "set BATON_IMAGE to an image every node can pull" in result.stderr


@pytest.fixture
def stand_ins(tmp_path):
    """`python` and `gunicorn` that print how they were called, first on PATH."""
    for program in ("python", "gunicorn"):
        script = tmp_path / program
        script.write_text(f'#!/bin/sh\necho {program} "$@"\n')
        script.chmod(0o755)
    return tmp_path


def dispatch(stand_ins, *args, **env) -> str:
    result = subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        env=_clean_env(PATH=f"{stand_ins}:/usr/bin:/bin", **env),
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("args", "env", "runs"),
    [
        ((), {}, "gunicorn --config deploy/gunicorn.conf.py config.wsgi"),
        (("web",), {}, "gunicorn --config deploy/gunicorn.conf.py config.wsgi"),
        (("worker",), {}, "python manage.py runworker --processes 1 --threads 4"),
        (
            ("worker", "--poll-ms", "100"),
            {"BATON_WORKER_QUEUES": "default reports", "BATON_WORKER_THREADS": "8"},
            "python manage.py runworker --processes 1 --threads 8 --queues default reports "
            "--poll-ms 100",
        ),
        (("scheduler",), {}, "python manage.py runscheduler"),
        (("migrate",), {}, "python manage.py migrate --noinput"),
        (("createtoken", "alice"), {}, "python manage.py createtoken alice"),
        (("healthcheck", "worker"), {}, "python manage.py healthcheck worker"),
    ],
)
def test_the_entrypoint_runs_each_command(stand_ins, args, env, runs):
    assert dispatch(stand_ins, *args, **env) == runs


def test_the_healthcheck_checks_the_service_the_container_runs(stand_ins, tmp_path):
    pid1 = tmp_path / "cmdline"
    pid1.write_bytes(b"tini\0--\0/app/deploy/entrypoint.sh\0scheduler\0")

    assert dispatch(stand_ins, "healthcheck", BATON_PID1_CMDLINE=str(pid1)) == (
        "python manage.py healthcheck scheduler"
    )


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", dockerfile)
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def test_the_dockerfile_runs_the_entrypoint_under_tini_as_a_user_on_the_base_image_tag():
    steps = _instructions((ROOT / "Dockerfile").read_text())
    last = {name: value for name, value in steps}  # the runtime stage's, being last
    base_tag = re.search(
        r'BASE_TAG="\$\{BASE_TAG:-(.+?)\}"', (ROOT / "deploy/base-image.sh").read_text()
    )

    assert ("ARG", f"PYTHON_IMAGE={base_tag.group(1)}") in steps
    assert [value for name, value in steps if name == "FROM"] == [
        "${PYTHON_IMAGE} AS build",
        "${PYTHON_IMAGE}",
    ]
    assert last["ENTRYPOINT"] == '["tini", "--", "/app/deploy/entrypoint.sh"]'
    assert last["CMD"] == '["web"]'
    assert last["USER"] == "baton"
    assert last["HEALTHCHECK"].endswith('CMD ["/app/deploy/entrypoint.sh", "healthcheck"]')
    assert os.access(ENTRYPOINT, os.X_OK)


def test_gunicorn_is_sized_from_the_cpus_and_logs_json_when_asked(monkeypatch):
    config = ROOT / "deploy" / "gunicorn.conf.py"
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2})

    plain = runpy.run_path(str(config))
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    monkeypatch.setenv("BATON_LOG_FORMAT", "json")
    tuned = runpy.run_path(str(config))

    assert (plain["workers"], plain["threads"], plain["worker_class"]) == (3, 4, "gthread")
    assert plain["graceful_timeout"] == 25 and plain["accesslog"] == "-"
    assert "logconfig_dict" not in plain
    assert tuned["workers"] == 2
    formatter = tuned["logconfig_dict"]["formatters"]["json"]["()"]
    assert formatter == "config.log_format.JsonLinesFormatter"
