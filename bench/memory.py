"""Idle memory of the whole stack on this host, without containers (issue 17's target).

    python bench/memory.py [--idle 10] [--keep-db] [--api]

Starts the three services as the image's entrypoint does (deploy/entrypoint.sh), with the
compose file's production settings (DEBUG=0, JSON logs, MALLOC_ARENA_MAX=2 as the Dockerfile
sets) on a throwaway PostgreSQL database (``baton_memory``) and Redis db 12, with the static
files collected into a throwaway STATIC_ROOT first, as the image's build does (DEBUG=0 serves
them from WhiteNoise's manifest: without one, the sign-in page is a 500):

- web: ``gunicorn --config deploy/gunicorn.conf.py config.wsgi`` with WEB_CONCURRENCY=2;
- scheduler: ``manage.py runscheduler``;
- worker: ``manage.py runworker --processes 1 --threads 4`` (the entrypoint's defaults).

Each gunicorn worker answers one page (the sign-in page) first, and with --api one API
request too (the REST API's modules load with the first one, config/lazy_api.py); then all
idle for --idle seconds and the script prints the RSS and PSS of every process of the three
services (gunicorn's master included, and any child, from /proc), their sum and the target:
at most 400 MiB RSS in all. It stops what it started by PID.
"""

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.processes import wait_until  # noqa: E402

TARGET_RSS_MIB = 400
WORKER_READY = "Worker process is ready for action."  # runworker's line once it consumes
DATABASE = "baton_memory"
SERVER_URL = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/12")
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_env(port: int, static_root: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BATON_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"{SERVER_URL}/{DATABASE}",
        BROKER_URL=BROKER_URL,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        BATON_LOG_FORMAT="json",
        MALLOC_ARENA_MAX="2",
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
        WEB_CONCURRENCY="2",
        PORT=str(port),
        STATIC_ROOT=static_root,
    )
    return env


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')


def drop_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def process_tree(pid: int) -> list[int]:
    tree, found, todo = children_of(), [], [pid]
    while todo:
        found.append(todo.pop())
        todo.extend(tree.get(found[-1], []))
    return found


def memory_kib(pid: int) -> tuple[str, int, int]:
    proc = Path(f"/proc/{pid}")
    name = proc.joinpath("cmdline").read_bytes().replace(b"\0", b" ").decode()[:70]
    rss = int(proc.joinpath("status").read_text().split("VmRSS:")[1].split()[0])
    pss = int(proc.joinpath("smaps_rollup").read_text().split("\nPss:")[1].split()[0])
    return name, rss, pss


def start(services: dict[str, list[str]], env: dict[str, str], logs: Path):
    started = {}
    for name, argv in services.items():
        log = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - kept open while it runs
        started[name] = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return started


def stop(started: dict[str, subprocess.Popen]) -> None:
    for process in started.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started.values():
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def one_request_per_web_worker(web: subprocess.Popen, port: int, log: Path, path: str) -> None:
    """Ask for ``path`` until each gunicorn worker has answered it once (its access log)."""
    wait_until(lambda: len(process_tree(web.pid)) >= 3, 60, "gunicorn workers did not start")
    workers = process_tree(web.pid)[1:]

    def ask(_) -> None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10).close()
        except urllib.error.HTTPError as error:  # the API's 401 without a token
            assert error.code < 500, error

    def every_worker_served() -> bool:
        # Requests at once: a lone idle worker would take every one of a sequence.
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(ask, range(8)))
        served = log.read_text()
        return all(f"served-by <{pid}> GET {path} " in served for pid in workers)

    wait_until(every_worker_served, 60, f"not every gunicorn worker {workers} answered {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", type=float, default=10.0, help="seconds idle before measuring")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--api", action="store_true", help="each gunicorn worker answers an API request too"
    )
    options = parser.parse_args()
    logs = ROOT / "var" / "bench-memory"
    logs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="baton-static-") as static_root:
        return measure(options, service_env(free_port(), static_root), logs)


def manage(env: dict[str, str], *command: str) -> None:
    subprocess.run(
        [PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )


def measure(options: argparse.Namespace, env: dict[str, str], logs: Path) -> int:
    manage(env, "collectstatic", "--noinput")
    recreate_database()
    manage(env, "migrate", "--noinput")
    port = int(env["PORT"])
    services = {
        "web": [GUNICORN, "--config", "deploy/gunicorn.conf.py", "config.wsgi"]
        + ["--access-logformat", "served-by %(p)s %(r)s %(s)s"],
        "scheduler": [PYTHON, "manage.py", "runscheduler"],
        "worker": [PYTHON, "manage.py", "runworker", "--processes", "1", "--threads", "4"],
    }
    started = start(services, env, logs)
    try:
        for path in ["/accounts/login/"] + (["/api/v1/runs"] if options.api else []):
            one_request_per_web_worker(started["web"], port, logs / "web.log", path)
        worker_log = logs / "worker.log"
        wait_until(lambda: WORKER_READY in worker_log.read_text(), 60, "the worker did not start")
        time.sleep(options.idle)  # idle: what each process keeps once nothing happens
        return report(started)
    finally:
        stop(started)
        if not options.keep_db:
            drop_database()


def report(started: dict[str, subprocess.Popen]) -> int:
    total_rss = total_pss = 0
    for service, process in started.items():
        for pid in process_tree(process.pid):
            name, rss, pss = memory_kib(pid)
            total_rss, total_pss = total_rss + rss, total_pss + pss
            print(f"  {service:9} {pid:>7} RSS {rss / 1024:6.1f} PSS {pss / 1024:6.1f} MiB  {name}")
    load = os.getloadavg()[0]
    ok = total_rss / 1024 <= TARGET_RSS_MIB
    print(
        f"idle RSS web+scheduler+worker {total_rss / 1024:.0f} MiB (target <= {TARGET_RSS_MIB}: "
        f"{'met' if ok else 'NOT met'}); PSS {total_pss / 1024:.0f} MiB; load {load:.1f}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
