"""Dramatiq worker threads inside another process: `manage.py up`, `trigger --wait`, tests."""

import dramatiq
from django.conf import settings

from .worker_hooks import prepare_broker


class EmbeddedWorker:
    """A Dramatiq ``Worker`` in threads of this process, on the configured broker.

    With no BROKER_URL the broker is Dramatiq's in-process StubBroker, so web
    threads enqueue and these threads execute, with no Redis anywhere.
    """

    def __init__(self, *, threads: int, broker: dramatiq.Broker | None = None):
        self.threads = threads
        self.broker = broker or dramatiq.get_broker()
        self.worker: dramatiq.Worker | None = None

    def start(self) -> "EmbeddedWorker":
        prepare_broker(self.broker)
        # What the dramatiq CLI does in each worker process before starting a Worker.
        self.broker.emit_after("process_boot")
        self.worker = dramatiq.Worker(
            self.broker,
            worker_threads=self.threads,
            worker_timeout=settings.BATON_WORKER_POLL_MS,
        )
        self.worker.start()
        return self

    def stop(self, *, timeout_seconds: float = 10) -> None:
        """Stop taking messages; wait for running tasks up to ``timeout_seconds``."""
        if self.worker is not None:
            self.worker.stop(timeout=int(timeout_seconds * 1000))
            self.worker = None
