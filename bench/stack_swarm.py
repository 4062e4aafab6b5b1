"""bench/stack.py --swarm: deploy/swarm-stack.yml on a one-node swarm of the same daemon.

`docker swarm init`, the secrets, the node labels, `docker stack deploy`, then it waits for
each service's replicas to run, checks readiness and a demo run from inside a web
container; it answers what it saw (or where it stopped, with the daemon's reason), and
leaves the swarm.
"""

import os
import secrets
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STACK = "batonswarm"
WANTED = {"postgres": 1, "redis": 1, "web": 2, "scheduler": 2, "worker": 3}


def _docker(docker: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([docker, *args], input=stdin, capture_output=True, text=True, timeout=300)


def try_swarm(docker: str, workdir: Path) -> str:
    init = _docker(docker, "swarm", "init", "--advertise-addr", "127.0.0.1")
    if init.returncode:
        return f"docker swarm init refused: {init.stderr.strip()}"
    try:
        return _deploy(docker)
    finally:
        _docker(docker, "stack", "rm", STACK)
        _docker(docker, "swarm", "leave", "--force")
        _remove_volumes(docker)


def _remove_volumes(docker: str) -> None:
    """The stack's database volume, once its containers are gone (a next try starts afresh)."""
    label = f"label=com.docker.stack.namespace={STACK}"
    deadline = time.monotonic() + 180
    while _docker(docker, "ps", "-aq", "--filter", label).stdout.strip():
        if time.monotonic() > deadline:
            return
        time.sleep(1)
    for volume in _docker(docker, "volume", "ls", "-q", "--filter", label).stdout.split():
        _docker(docker, "volume", "rm", volume)


def _deploy(docker: str) -> str:
    password = secrets.token_urlsafe(20)
    for name, value in {
        "baton_secret_key": secrets.token_urlsafe(50),
        "baton_postgres_password": password,
        "baton_database_url": f"postgres://baton:{password}@postgres:5432/baton",
        "baton_google_client_secret": "unused",
        "baton_metrics_token": secrets.token_urlsafe(20),
    }.items():
        _docker(docker, "secret", "create", name, "-", stdin=value)
    node = _docker(docker, "node", "ls", "-q").stdout.split()[0]
    _docker(docker, "node", "update", "--label-add", "baton.postgres=true", node)
    env = {**os.environ, "BATON_IMAGE": "baton:latest", "ALLOWED_HOSTS": "*", "BATON_WORKERS": "3"}
    deploy = subprocess.run(
        [docker, "stack", "deploy", "-c", str(ROOT / "deploy/swarm-stack.yml"), STACK],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if deploy.returncode:
        return f"docker stack deploy refused: {deploy.stderr.strip()}"
    started = time.monotonic()
    while time.monotonic() - started < 420:
        running = _replicas(docker)
        if all(running.get(name, 0) >= count for name, count in WANTED.items()):
            took = time.monotonic() - started
            return f"deployed: replicas {running} in {took:.0f} s; {_end_to_end(docker)}"
        time.sleep(2)
    return f"replicas running after 420 s: {_replicas(docker)}; why: {_task_errors(docker)}"


def _replicas(docker: str) -> dict[str, int]:
    listing = _docker(docker, "stack", "services", STACK, "--format", "{{.Name}} {{.Replicas}}")
    running = {}
    for line in listing.stdout.splitlines():
        name, replicas = line.split()[:2]
        running[name.removeprefix(f"{STACK}_")] = int(replicas.split("/")[0])
    return running


def _task_errors(docker: str) -> list[str]:
    tasks = _docker(
        docker,
        "stack",
        "ps",
        STACK,
        "--no-trunc",
        "--format",
        "{{.Name}} {{.CurrentState}} {{.Error}}",
    )
    return sorted({line for line in tasks.stdout.splitlines() if "Running" not in line})[:8]


def _end_to_end(docker: str) -> str:
    """Readiness as web sees it, then a demo run through the swarm's scheduler and workers.

    Run inside a web container: the host cannot reach overlay addresses, and the routing
    mesh's published port needs the daemon's iptables rules.
    """
    containers = _docker(docker, "ps", "-q", "--filter", f"name={STACK}_web").stdout.split()
    if not containers:
        return "no web container"
    ready = _docker(docker, "exec", containers[0], "python", "manage.py", "healthcheck", "web")
    run = _docker(
        docker, "exec", containers[0], "python", "manage.py", "trigger", "sales_report", "--wait"
    )
    last = (run.stdout.strip().splitlines() or run.stderr.strip().splitlines() or [""])[-1]
    return f"{(ready.stdout or ready.stderr).strip()}; trigger sales_report --wait: {last}"
