"""Notifications benchmark: how soon a failure's message leaves, and how fast the outbox drains.

    python bench/notifications.py                 # SQLite + in-process broker (embedded)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton_bench \\
    BROKER_URL=redis://127.0.0.1:6379/0 python bench/notifications.py [--runs 20]

It uses a throwaway database (a temporary SQLite file, or the DATABASE_URL's: give it
one of its own; its bench channels are deleted first), worker threads in this process
on the in-process broker and a local HTTP server standing for the webhook, and prints,
each beside its target:

- run failed → webhook received (median and worst over sequential failing runs);
- outbox drain: messages per second sent by two concurrent senders, and how many
  went twice (must be 0).
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORKFLOWS = """
from workflows import Notify, task, workflow


@task
def fail() -> None:
    print("about to fail")
    raise RuntimeError("bench failure")


@workflow(notify=Notify(on="failure", to="channel:bench-hook"))
def bench_fails():
    fail()
"""

TARGET_SECONDS = 5.0


def main() -> None:
    options = _arguments()
    folder = Path(tempfile.mkdtemp(prefix="baton-bench-notify-"))
    (folder / "bench_workflows.py").write_text(WORKFLOWS)
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789")
    os.environ.setdefault("BATON_SQLITE_PATH", str(folder / "bench.sqlite3"))
    os.environ["BATON_WORKFLOWS_DIR"] = str(folder)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from runs.notifications.models import Channel

    Channel.objects.filter(name__startswith="bench-").delete()  # and their messages

    from tests.notification_servers import HookServer

    with HookServer() as hooks:
        latencies = measure_latency(hooks, options.runs)
        rate, doubles = measure_drain(hooks, options.messages)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(
        f"failure → message: median {statistics.median(latencies):.3f} s, "
        f"worst {max(latencies):.3f} s   (target < {TARGET_SECONDS} s)"
    )
    print(f"outbox drain, 2 senders: {rate:.0f} messages/s, sent twice: {doubles}   (target 0)")


def measure_latency(hooks, runs: int) -> list[float]:
    from runs.notifications.models import Channel
    from runs.services import trigger_run
    from runs.testing import in_process_worker, wait_for_run
    from workflows.models import Workflow

    Channel.objects.create(name="bench-hook", kind="webhook", url=hooks.url + "/run", secret="s")
    workflow = Workflow.objects.get(slug="bench_fails")
    latencies = []
    with in_process_worker(threads=2):
        for _ in range(runs):
            seen = len(hooks.posts_to("/run"))
            run = wait_for_run(trigger_run(workflow=workflow, parameters={}), timeout=30)
            deadline = time.monotonic() + 30
            while len(hooks.posts_to("/run")) == seen and time.monotonic() < deadline:
                time.sleep(0.005)
            post = hooks.posts_to("/run")[-1]
            finished = datetime.fromisoformat(post.json()["run"]["finished_at"])
            assert post.json()["run"]["id"] == run.pk
            latencies.append(post.at - finished.timestamp())
    return latencies


def measure_drain(hooks, count: int) -> tuple[float, int]:
    from django.db import connection

    from runs.notifications.models import Channel, Event, Notification
    from runs.notifications.outbox import send_due
    from workflows.models import Workflow

    channel = Channel.objects.create(name="bench-drain", kind="webhook", url=hooks.url + "/drain")
    workflow = Workflow.objects.get(slug="bench_fails")
    Notification.objects.bulk_create(
        Notification(
            key=f"drain{n}", event=Event.MISSED_SCHEDULE, workflow=workflow, channel=channel
        )
        for n in range(count)
    )

    def sender():
        try:
            while send_due():
                pass
        finally:
            connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    deliveries = [post.headers["X-Baton-Delivery"] for post in hooks.posts_to("/drain")]
    return len(deliveries) / elapsed, len(deliveries) - len(set(deliveries))


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="failing runs, one after another")
    parser.add_argument("--messages", type=int, default=300, help="outbox rows to drain")
    return parser.parse_args()


if __name__ == "__main__":
    main()
