"""The production stack for real: image built, compose.yaml up, workflows through the API.

    python bench/stack.py                  # DOCKER_HOST's daemon, else one of its own
    python bench/stack.py --skip-build     # the images are there already
    python bench/stack.py --swarm          # then docker swarm init + docker stack deploy too

It builds the image (`make base-image` first where the base images are missing), starts
compose.yaml with a workflows folder of its own, creates a user and an API token, runs a
workflow through the API (reaching web at its container's address: published ports do not
answer on every machine), measures the stack's idle memory, scales the workers to 3 and
checks that one run's tasks spread over them, kills the worker container running a task and
checks that the scheduler has it retried elsewhere, then stops the stack (each service must
exit 0 on SIGTERM) and removes it. Printed beside their targets: image size, `compose up` →
first run succeeded, idle RSS of web (2 gunicorn workers) + scheduler + worker.
Not in `make test`: a few minutes.
"""

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stack_swarm import try_swarm  # noqa: E402 - beside this file

from tests.docker_daemon import docker_host  # noqa: E402

PROJECT = "batoncheck"
IMAGE = "baton:latest"
BASE_IMAGES = ("python:3.11-slim-bookworm", "postgres:15-bookworm", "redis:7-bookworm")
TARGETS = {"image_mb": 300, "first_run_s": 60, "idle_rss_mib": 400}

WORKFLOWS = '''
import socket
import time
from datetime import timedelta

from workflows import task, workflow


@task(retries=2, retry_delay=timedelta(seconds=1))
def where(seconds: float) -> str:
    print(f"running on {socket.gethostname()}", flush=True)
    time.sleep(seconds)
    return socket.gethostname()


@workflow
def hello():
    """One quick task: the stack works end to end."""
    where(0)


@workflow
def spread(seconds: float = 2.0):
    """Six tasks at once, for several workers."""
    for n in range(6):
        where.with_options(name=f"part_{n}")(seconds)


@workflow
def long_one(seconds: float = 8.0):
    """One long task, whose worker the check kills."""
    where(seconds)
'''


class Stack:
    def __init__(self, docker: str, workdir: Path):
        self.docker = docker
        self.workdir = workdir
        self.env_file = workdir / "check.env"
        self.token = ""
        self.base_url = ""

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [
            "docker-compose", "--project-name", PROJECT, "--project-directory", str(ROOT),
            "--file", str(ROOT / "compose.yaml"), "--env-file", str(self.env_file), *args,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if check and result.returncode:
            raise RuntimeError(f"docker-compose {' '.join(args)}: {result.stderr.strip()}")
        return result

    def run_docker(self, *args: str) -> str:
        result = subprocess.run([self.docker, *args], capture_output=True, text=True, timeout=300)
        if result.returncode:
            raise RuntimeError(f"docker {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout.strip()

    def containers(self, service: str) -> list[str]:
        return self.compose("ps", "-q", service).stdout.split()

    def write_env(self) -> None:
        workflows = self.workdir / "workflows"
        workflows.mkdir()
        (workflows / "stack_check.py").write_text(WORKFLOWS)
        workflows.chmod(0o755)
        values = {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "POSTGRES_PASSWORD": secrets.token_urlsafe(20),
            "ALLOWED_HOSTS": "*",
            "SECURE_SSL_REDIRECT": "0",  # no TLS proxy in front of this one
            "BATON_WORKFLOWS_VOLUME": str(workflows),
            "BATON_WORKFLOWS_DIR": "/workflows",
            "BATON_HEARTBEAT_TIMEOUT": "10",  # the killed worker's task is retried sooner
            "BATON_WORKER_THREADS": "1",  # one task at a time per worker: they must share
            "WEB_CONCURRENCY": "2",
        }
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))

    def address(self, container: str) -> str:
        template = "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}"
        return self.run_docker("inspect", "-f", template, container).split()[0]

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.base_url}/api/v1/{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def trigger(self, slug: str, **parameters) -> int:
        return self.api("POST", f"workflows/{slug}/runs", {"parameters": parameters})["id"]

    def wait_run(self, run_id: int, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.api("GET", f"runs/{run_id}")
            if run["is_finished"]:
                return run
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} not finished after {timeout} s: {run['state']}")


def wait_until(condition, timeout: float, message: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(message)


def build(stack: Stack) -> float:
    present = set(stack.run_docker("images", "--format", "{{.Repository}}:{{.Tag}}").split())
    env = {**os.environ, "DOCKER": stack.docker}
    if not set(BASE_IMAGES) <= present:
        subprocess.run(["sh", "deploy/base-image.sh"], cwd=ROOT, env=env, check=True)
    started = time.monotonic()
    subprocess.run(
        ["make", "image", f"DOCKER={stack.docker}"], cwd=ROOT, env=env, check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    return time.monotonic() - started


def start_and_first_run(stack: Stack) -> float:
    started = time.monotonic()
    stack.compose("up", "-d")
    web = wait_until(lambda: stack.containers("web"), 30, "no web container")[0]
    stack.base_url = f"http://{stack.address(web)}:8000"
    wait_until(lambda: _answers(f"{stack.base_url}/readyz"), 60, "web never became ready")
    # A user and a token in one process start (createsuperuser, then createtoken's output).
    make_token = (
        "from django.contrib.auth import get_user_model;"
        "from django.core.management import call_command;"
        "get_user_model().objects.create_superuser("
        f"'check', 'c@example.com', {secrets.token_urlsafe(16)!r});"
        "call_command('createtoken', 'check')"
    )
    token = stack.compose(
        "exec", "-T", "web", "/app/deploy/entrypoint.sh", "shell", "-c", make_token
    )
    stack.token = token.stdout.strip().splitlines()[-1]
    run = stack.wait_run(stack.trigger("hello"), timeout=60)
    assert run["state"] == "success", run
    return time.monotonic() - started


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def container_memory_mib(stack: Stack, container: str) -> tuple[float, float]:
    """RSS and PSS of the container's service processes (from /proc on this host), in MiB.

    RSS counts a page shared by forked processes (gunicorn's workers) in each of them;
    PSS splits it between them. A healthcheck that happens to run is left out.
    """
    rss_kib = pss_kib = 0
    for pid in stack.run_docker("top", container, "-eo", "pid").split()[1:]:
        proc = Path(f"/proc/{pid}")
        if b"healthcheck" in (proc / "cmdline").read_bytes():
            continue
        status = (proc / "status").read_text()
        rss_kib += int(status.split("VmRSS:")[1].split()[0])
        pss_kib += int((proc / "smaps_rollup").read_text().split("\nPss:")[1].split()[0])
    return rss_kib / 1024, pss_kib / 1024


def idle_memory(stack: Stack) -> dict[str, tuple[float, float]]:
    time.sleep(5)  # idle: the first run's work is over
    return {
        service: container_memory_mib(stack, stack.containers(service)[0])
        for service in ("web", "scheduler", "worker")
    }


def spread_over_three(stack: Stack) -> set[str]:
    stack.compose("up", "-d", "--no-recreate", "--scale", "worker=3", "--scale", "scheduler=2")
    wait_until(lambda: len(stack.containers("worker")) == 3, 60, "not 3 workers")
    wait_until(lambda: _all_healthy(stack, "worker"), 150, "the 3 workers never turned healthy")
    run = stack.wait_run(stack.trigger("spread", seconds=2.0), timeout=60)
    assert run["state"] == "success", run
    return {task["result"] for task in run["tasks"]}


def _all_healthy(stack: Stack, service: str) -> bool:
    states = [
        stack.run_docker("inspect", "-f", "{{.State.Health.Status}}", c)
        for c in stack.containers(service)
    ]
    return all(state == "healthy" for state in states)


def recover_from_a_killed_worker(stack: Stack) -> dict:
    run_id = stack.trigger("long_one", seconds=8.0)

    def runner_host() -> str:
        log = stack.api("GET", f"runs/{run_id}/tasks/where/log")
        lines = [line for line in log.get("text", "").splitlines() if "running on" in line]
        return lines[0].rsplit(" ", 1)[-1] if lines else ""

    host = wait_until(runner_host, 30, "the long task never started")
    victim = next(c for c in stack.containers("worker") if c.startswith(host))
    killed_at = time.monotonic()
    stack.run_docker("kill", victim)
    run = stack.wait_run(run_id, timeout=90)
    (task,) = run["tasks"]
    return {
        "state": run["state"],
        "attempt": task["attempt"],
        "killed": host,
        "finished_on": task["result"],
        "recovered_in_s": time.monotonic() - killed_at,
        "lost_attempt": task["attempts"][0]["error"] if task["attempts"] else "",
    }


def stop_cleanly(stack: Stack, killed: str) -> dict[str, int]:
    """Each service's exit code after `docker-compose stop` (SIGTERM), the killed worker aside."""
    ids = {s: stack.containers(s) for s in ("web", "scheduler", "worker")}
    ids["worker"] = [c for c in ids["worker"] if not c.startswith(killed)]
    stack.compose("stop", "--timeout", "120")
    codes = {}
    for service, containers in ids.items():
        for container in containers:
            code = int(stack.run_docker("inspect", "-f", "{{.State.ExitCode}}", container))
            codes[f"{service}/{container[:12]}"] = code
    return codes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--swarm", action="store_true", help="also try docker stack deploy")
    options = parser.parse_args()
    os.environ["DOCKER_HOST"] = docker_host()
    docker = shutil.which("docker", path="/usr/bin") or "docker"
    with tempfile.TemporaryDirectory(prefix="baton-stack-") as folder:
        stack = Stack(docker, Path(folder))
        stack.write_env()
        try:
            return report(stack, options)
        finally:
            stack.compose("down", "--volumes", "--timeout", "30", check=False)


def report(stack: Stack, options) -> int:
    if not options.skip_build:
        print(f"image built in {build(stack):.0f} s")
    size_mb = int(stack.run_docker("image", "inspect", "-f", "{{.Size}}", IMAGE)) / 1e6
    first_run = start_and_first_run(stack)
    memory = idle_memory(stack)
    hosts = spread_over_three(stack)
    recovery = recover_from_a_killed_worker(stack)
    exits = stop_cleanly(stack, killed=recovery["killed"])
    rss = sum(rss for rss, _pss in memory.values())
    pss = sum(pss for _rss, pss in memory.values())
    rows = [
        ("image size (MB)", f"{size_mb:.0f}", f"<= {TARGETS['image_mb']}"),
        (
            "compose up -> first run succeeded (s)",
            f"{first_run:.1f}",
            f"<= {TARGETS['first_run_s']}",
        ),
        ("idle RSS web+scheduler+worker (MiB)", f"{rss:.0f}", f"<= {TARGETS['idle_rss_mib']}"),
    ]
    print(f"{'':42} {'measured':>9} {'target':>9}")
    for label, value, target in rows:
        print(f"{label:42} {value:>9} {target:>9}")
    by_service = {k: f"RSS {rss:.0f} PSS {pss:.0f}" for k, (rss, pss) in memory.items()}
    print(f"  idle PSS web+scheduler+worker {pss:.0f} MiB; by service (MiB): {by_service}")
    print(f"tasks of one run spread over {len(hosts)} of 3 workers: {sorted(hosts)}")
    print(f"killed worker's task: {recovery}")
    print(f"exit codes after SIGTERM: {exits}")
    ok = (
        size_mb <= TARGETS["image_mb"]
        and first_run <= TARGETS["first_run_s"]
        and rss <= TARGETS["idle_rss_mib"]
        and len(hosts) >= 2
        and recovery["state"] == "success"
        and recovery["finished_on"] != recovery["killed"]
        and set(exits.values()) == {0}
    )
    if options.swarm:
        print(f"swarm: {try_swarm(stack.docker, stack.workdir)}")
    print("OK" if ok else "NOT OK")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
