"""Baton's services as threads of another process: `manage.py up`, `trigger --wait`, tests.

``EmbeddedWorker`` and ``EmbeddedScheduler`` run the worker and the scheduler
beside the web server; ``Supervisor`` restarts either when one of its threads
dies, so a one-process Baton does not quietly stop running tasks or schedules.
"""

import logging
import threading
import time

import dramatiq
from django.conf import settings

from .execution.watch import start_watch, watch_is_running
from .notifications.outbox import sender_is_running, start_sender
from .scheduler import Scheduler
from .worker_hooks import prepare_broker

logger = logging.getLogger(__name__)


class EmbeddedWorker:
    """A Dramatiq ``Worker`` in threads of this process, on the configured broker.

    With no BROKER_URL the broker is Dramatiq's in-process StubBroker, so web
    threads enqueue and these threads execute, with no Redis anywhere.
    """

    name = "worker"

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

    def failure(self) -> str | None:
        """What died, or None while every thread runs."""
        if self.worker is None:
            return None
        workers = sum(not thread.is_alive() for thread in self.worker.workers)
        queues = sorted(
            name for name, thread in self.worker.consumers.items() if not thread.is_alive()
        )
        dead = [f"{workers} of {len(self.worker.workers)} worker threads"] if workers else []
        dead += [f"the consumer of queue {name!r}" for name in queues]
        if not watch_is_running():
            dead.append("the watch thread (timeouts, cancels, heartbeats)")
        if not sender_is_running():
            dead.append("the notification sender")
        return ", ".join(dead) or None

    def restart(self) -> None:
        """Replace the dead threads; the live ones keep running their tasks."""
        worker = self.worker
        if worker is None:
            return
        # Dramatiq has no public call for this; these are the ones its own boot uses.
        for thread in [t for t in worker.workers if not t.is_alive()]:
            worker.workers.remove(thread)
            worker._add_worker()
        for name in [n for n, t in worker.consumers.items() if not t.is_alive()]:
            del worker.consumers[name]
            worker._add_consumer(name, delay=name.endswith(".DQ"))
        start_watch()  # a new one only if it died
        start_sender()


class EmbeddedScheduler:
    """The scheduler in a thread, for ``manage.py up``; a new one after it died."""

    name = "scheduler"

    def __init__(self, scheduler_factory=Scheduler):
        self._new_scheduler = scheduler_factory
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: str | None = None

    def start(self) -> "EmbeddedScheduler":
        start_sender()  # `up --worker-threads 0` sends notifications too
        self._error = None
        self._thread = threading.Thread(target=self._run, name="baton-scheduler", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._new_scheduler().run(self._stop)
        except Exception as exc:
            # The supervisor reports it in one line; the traceback is for LOG_LEVEL=DEBUG.
            self._error = f"{type(exc).__name__}: {exc}"
            logger.debug("The scheduler thread failed", exc_info=True)

    def failure(self) -> str | None:
        if self._thread is None or self._thread.is_alive() or self._stop.is_set():
            return None
        return self._error or "its thread ended"

    def restart(self) -> None:
        self.start()

    def stop(self, timeout_seconds: float = 5) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_seconds)


class Supervisor:
    """Checks the services every ``interval`` seconds and restarts the ones that died.

    Each restart logs one line. A service that keeps dying is restarted after
    growing pauses (up to ``max_pause``), so a lasting fault does not flood the log.
    """

    def __init__(self, services, *, interval: float = 1.0, max_pause: float = 60.0):
        self.services = list(services)
        self.interval = interval
        self.max_pause = max_pause
        self._pause = {service.name: interval for service in self.services}
        self._not_before = {service.name: 0.0 for service in self.services}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="baton-supervisor", daemon=True)

    def start(self) -> "Supervisor":
        self._thread.start()
        return self

    def stop(self, timeout_seconds: float = 5) -> None:
        self._stop.set()
        self._thread.join(timeout_seconds)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # the supervisor itself must not die
                logger.exception("The supervisor of the embedded services failed a check")

    def check(self) -> None:
        now = time.monotonic()
        for service in self.services:
            if now < self._not_before[service.name]:
                continue
            failure = service.failure()
            if failure is None:
                if now - self._not_before[service.name] > self.max_pause:
                    self._pause[service.name] = self.interval  # healthy for a while
                continue
            pause = self._pause[service.name]
            logger.error("The embedded %s stopped (%s): restarting it.", service.name, failure)
            try:
                service.restart()
            except Exception as exc:  # tried again after the pause
                logger.error("Could not restart the embedded %s: %s", service.name, exc)
            self._not_before[service.name] = now + pause
            self._pause[service.name] = min(pause * 2, self.max_pause)
