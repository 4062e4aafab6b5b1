"""`manage.py up` on fresh SQLite databases, under API load from its first second.

Each start is the embedded default (no BROKER_URL, a SQLite file of its own,
named by BATON_SQLITE_PATH, or in one start by a sqlite:// DATABASE_URL): it
starts its demo runs, then 40 runs are started through the REST API 8 at a time
while run lists are read alongside. Nothing may answer 5xx, the process may
never say "database is locked", and every run must succeed.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.processes import ROOT, ManageProcess, free_port

pytestmark = pytest.mark.integration

WORKFLOWS = Path(__file__).parent / "workflows"
RUNS, AT_ONCE, READERS = 40, 8, 2
FINISHED = {"success", "failed", "cancelled"}
DEMO_WORKFLOWS = {"sales_report", "backup_files", "flaky_import"}


def embedded_env(database: Path, *, as_url: bool = False) -> dict:
    """No broker; the SQLite file named by BATON_SQLITE_PATH, or ``as_url`` by DATABASE_URL."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL")}
    if as_url:
        env["DATABASE_URL"] = f"sqlite:///{database}"
    env.update(
        BATON_SQLITE_PATH=str(database),
        BATON_WORKFLOWS_DIR=str(WORKFLOWS),
        BATON_REQUIRE_SERVICES="0",
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(*args: str, env: dict) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


class Api:
    def __init__(self, port: int, token: str):
        self.base = f"http://127.0.0.1:{port}/api/v1"
        self.token = token

    def call(self, method: str, path: str, body=None) -> tuple[int, object]:
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")[:500]


class Up(ManageProcess):
    """`manage.py up` in its own process group, its output in a file."""

    name = "`up`"
    stop_timeout = 20

    def __init__(self, database: Path, log_path: Path, *, as_url: bool):
        self.port = free_port()
        super().__init__(
            ["up", "--port", str(self.port)], embedded_env(database, as_url=as_url), log_path
        )

    def api(self, token: str) -> Api:
        """The API, once `up` answers."""
        api = Api(self.port, token)
        self.wait_while_alive(lambda: answers(api), 60, "`up` does not answer")
        return api


def answers(api: Api) -> bool:
    try:
        return api.call("GET", "/runs")[0] == 200
    except OSError:
        return False  # not listening yet


def wait_until_finished(api: Api, ids: list[int], timeout: float = 120) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        states = {run_id: api.call("GET", f"/runs/{run_id}")[1]["state"] for run_id in ids}
        if set(states.values()) <= FINISHED or time.monotonic() > deadline:
            return states
        time.sleep(0.2)


def load(api: Api) -> dict:
    """40 runs started 8 at a time, run lists read alongside; what every answer was."""
    reading, read_statuses = threading.Event(), []

    def read_lists():
        while not reading.is_set():
            read_statuses.append(api.call("GET", "/runs")[0])

    readers = [threading.Thread(target=read_lists) for _ in range(READERS)]
    for reader in readers:
        reader.start()
    try:
        with ThreadPoolExecutor(AT_ONCE) as pool:
            answers = list(
                pool.map(
                    lambda n: api.call(
                        "POST", "/workflows/data_edge/runs", {"parameters": {"n": n}}
                    ),
                    range(RUNS),
                )
            )
        started = [body["id"] for status, body in answers if status == 201]
        states = wait_until_finished(api, started)
    finally:
        reading.set()
        for reader in readers:
            reader.join()
    return {"answers": answers, "reads": read_statuses, "states": states}


def first_start(database: Path, log_path: Path, token: str, as_url: bool) -> dict:
    began = time.monotonic()
    up = Up(database, log_path, as_url=as_url)
    try:
        api = up.api(token)
        ready = time.monotonic()
        result = load(api)
        result["load_seconds"] = time.monotonic() - ready
        result["start_seconds"] = ready - began
        demo_ids = [
            run["id"]
            for slug in sorted(DEMO_WORKFLOWS)
            for run in api.call("GET", f"/runs?workflow={slug}")[1]["items"]
        ]
        result["demo"] = wait_until_finished(api, demo_ids, timeout=60)
    finally:
        up.stop()
    result["output"] = up.output()
    return result


# A database as `manage.py migrate` leaves it, plus the admin and a token (`createtoken`).
MIGRATED = (
    "import io; from django.core.management import call_command;"
    "from accounts.local_admin import ensure_local_admin;"
    "call_command('migrate', verbosity=0); ensure_local_admin(); out = io.StringIO();"
    "call_command('createtoken', 'admin', '--name', 'stress', stdout=out, stderr=io.StringIO());"
    "print(out.getvalue().strip())"
)


def test_first_starts_of_up_take_concurrent_api_load_without_database_is_locked(tmp_path):
    template = tmp_path / "migrated.sqlite3"
    token = manage("shell", "--no-imports", "-c", MIGRATED, env=embedded_env(template))
    starts = []
    for start in range(3):
        database = tmp_path / f"start{start}" / "baton.sqlite3"
        database.parent.mkdir()
        shutil.copy(template, database)  # a first start: no run yet, no schedule ran
        # The last names its file by DATABASE_URL: it had deferred transactions, and crashed.
        starts.append((database, tmp_path / f"up{start}.log", token, start == 2))
    # The three at once: more contention on the machine, and a third of the wait.
    with ThreadPoolExecutor(len(starts)) as pool:
        results = list(pool.map(lambda args: first_start(*args), starts))
    figures = []
    for start, result in enumerate(results):
        output = result["output"]
        assert output.count("database is locked") == 0, output
        assert [a for a in result["answers"] if a[0] != 201] == [], output
        assert [s for s in result["reads"] if s >= 500] == [], output
        assert len(result["states"]) == RUNS
        assert set(result["states"].values()) == {"success"}, result["states"]
        assert len(result["demo"]) == len(DEMO_WORKFLOWS), output
        assert set(result["demo"].values()) == {"success"}, result["demo"]
        figures.append(
            f"start {start}: up answered after {result['start_seconds']:.1f} s, "
            f"{RUNS} runs ({AT_ONCE} at a time, {len(result['reads'])} list reads) "
            f"done in {result['load_seconds']:.1f} s"
        )
    print("\n" + "\n".join(figures))
