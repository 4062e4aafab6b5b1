"""Live code benchmark: a git push reaching a running worker, a big reload, kept versions' memory.

    python bench/livecode.py                 # SQLite file under var/, in-process broker
    python bench/livecode.py --interval 2

It makes a git repository in a temporary folder, points BATON_WORKFLOWS_GIT at it and
prints, each beside its target:

- push → new workflow runnable: a commit adds a workflow while worker threads and the
  scheduler (leader, which syncs) run in this process with its poller; the time until
  a run of the new workflow has succeeded (target: interval + 3 s);
- reload of 500 workflows in 100 files: the CPU time the reload takes (target: 1 s),
  and the longest pause of a thread standing for a running task meanwhile;
- memory: RSS added by 20 kept versions of a 100-workflow repository (target: 50 MiB).
"""

import argparse
import gc
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORKFLOW = '''
@task(retries=1)
def extract_{n}(site: int, day: str) -> list:
    return [site, day, {v}]


@task
def load_{n}(rows: list, dry_run: bool) -> int:
    return len(rows)


@workflow(tags=["bench"])
def flow_{n}(site: Annotated[int, "Site"] = 1, day: str = "today", dry_run: bool = True):
    """Workflow {n} of the benchmark (version {v})."""
    load_{n}(extract_{n}(site, day), dry_run)
'''

HEADER = "from typing import Annotated\n\nfrom workflows import task, workflow\n"


def cpu_seconds() -> float:
    """This process's CPU time and its children's (git)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def write_files(repo, files: int, per_file: int, version: int, *, start: int = 0) -> dict:
    out = {}
    for f in range(files):
        body = "".join(
            WORKFLOW.format(n=start + f * per_file + w, v=version) for w in range(per_file)
        )
        out[f"team_{f // 10}/file_{f}.py"] = HEADER + body
    return out


def measure_push(repo, interval: float) -> None:
    from runs.scheduler import Scheduler
    from runs.services import trigger_run
    from runs.testing import in_process_worker, wait_for_run
    from workflows.models import Workflow
    from workflows.registry import get_registry

    stop = threading.Event()
    with in_process_worker(threads=4):
        scheduler = threading.Thread(target=Scheduler().run, args=(stop,), daemon=True)
        scheduler.start()
        time.sleep(interval + 0.5)  # both settled on the first commit
        pushed = time.monotonic()
        repo.commit({"new/brand_new.py": HEADER + WORKFLOW.format(n="new", v=1)}, "add flow_new")
        while not (
            get_registry().get("flow_new") and Workflow.objects.filter(slug="flow_new").exists()
        ):
            if time.monotonic() - pushed > interval + 30:
                raise SystemExit("the new workflow never arrived")
            time.sleep(0.02)
        run = trigger_run(workflow=Workflow.objects.get(slug="flow_new"), parameters={})
        run = wait_for_run(run, timeout=30)
        took = time.monotonic() - pushed
        stop.set()
        scheduler.join(5)
    from workflows.live import live_code

    live_code().stop()  # the next figures reload by hand
    print(
        f"push → new workflow ran ({run.state}) on the running worker: {took:.2f} s "
        f"(target ≤ {interval + 3:.0f} s, interval {interval:g} s)"
    )


def measure_reload(repo) -> None:
    from workflows.live import live_code

    repo.commit(write_files(repo, 100, 5, 1), "500 workflows in 100 files")
    pauses, ticking = [], threading.Event()

    def running_task():
        last = time.monotonic()
        while not ticking.is_set():
            time.sleep(0.005)
            now = time.monotonic()
            pauses.append(now - last)
            last = now

    task = threading.Thread(target=running_task, daemon=True)
    task.start()
    cpu, wall = cpu_seconds(), time.monotonic()
    live_code().refresh()
    cpu, wall = cpu_seconds() - cpu, time.monotonic() - wall
    ticking.set()
    task.join()
    definitions = [d for s, d in live_code().registry().workflows.items() if s.startswith("flow_")]
    print(
        f"reload of {len(definitions)} workflows in 100 files: {cpu:.2f} s CPU (git included), "
        f"{wall:.2f} s wall (target ≤ 1 s); a running task's thread paused at most "
        f"{max(pauses) * 1000:.0f} ms"
    )


def measure_memory(tmp: Path, keep: int) -> None:
    from tests.live_repo import GitRepo
    from workflows.live import LiveCode
    from workflows.sources import GitSource

    repo = GitRepo(tmp / "memory-repo")
    source = GitSource(str(repo.path), branch="main", cache=str(tmp / "memory-cache"), keep=keep)
    code = LiveCode(source, interval=3600, keep=keep)
    gc.collect()
    before = rss_mib()
    for version in range(keep):
        repo.commit(write_files(repo, 100, 1, version, start=10_000), f"version {version}")
        code.refresh()
    gc.collect()
    added = rss_mib() - before
    kept = len(code.kept.entries)
    print(
        f"memory: {kept} kept versions of a 100-workflow repository add {added:.1f} MiB "
        f"(target ≤ 50 MiB)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--keep", type=int, default=20)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="baton-bench-livecode-"))
    from tests.live_repo import GitRepo

    repo = GitRepo(tmp / "repo")
    repo.commit({"first.py": HEADER + WORKFLOW.format(n="first", v=1)}, "first")
    path = ROOT / "var" / "bench-livecode.sqlite3"
    path.parent.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ.update(
        BATON_SQLITE_PATH=str(path),
        BATON_WORKFLOWS_GIT=str(repo.path),
        BATON_WORKFLOWS_GIT_INTERVAL=str(args.interval),
        BATON_WORKFLOWS_CACHE=str(tmp / "cache"),
        BATON_WORKFLOWS_KEEP=str(args.keep),
        BATON_WORKFLOWS_DIR="",
    )
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # syncs the first commit
    print(f"Live code on SQLite, a git repository in {tmp}")
    measure_push(repo, args.interval)
    measure_reload(repo)
    measure_memory(tmp, args.keep)


if __name__ == "__main__":
    main()
