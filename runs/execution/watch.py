"""The tasks running in this process, and the one thread that watches over them.

Every ``TICK`` the watch thread interrupts tasks past their timeout; about every
half second it flushes their logs and asks the database whether any of them was
cancelled (or marked by a user); every ``BATON_HEARTBEAT_INTERVAL`` it records
their heartbeat, so the scheduler can tell a dead worker from a slow task.
As often, running tasks or not, it records that this worker process is alive
(``runs.presence``: the container's healthcheck and the metrics read it).
"""

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field

import dramatiq
from django.conf import settings
from django.db import Error, close_old_connections, connection
from django.db.models import Q
from django.utils import timezone
from dramatiq.middleware.threading import Interrupt, raise_thread_exception

from ..models import TaskRun
from ..presence import ProcessKind, forget_heartbeat, record_heartbeat
from ..states import RunState, TaskState
from .logs import TaskLogWriter
from .reconnect import unless_unreachable

logger = logging.getLogger(__name__)

TICK = 0.1


class TaskInterrupted(Interrupt):
    """Raised inside a Python task's thread to stop it (timeout, cancel)."""


@dataclass
class Interruption:
    state: str  # the state the attempt ends in
    message: str
    retryable: bool = False


_identity: tuple[int, str] = (0, "")


def worker_identity() -> str:
    """hostname:pid of this worker process (kept per pid: workers fork)."""
    global _identity
    pid = os.getpid()
    if _identity[0] != pid:
        _identity = (pid, f"{socket.gethostname()}:{pid}")
    return _identity[1]


@dataclass(eq=False)
class ActiveTask:
    """A task attempt running in this process, and how to stop it."""

    task_run_id: int
    kind: str
    writer: TaskLogWriter
    timeout: float | None = None
    thread_id: int = field(default_factory=threading.get_ident)
    started: float = field(default_factory=time.monotonic)
    interruption: Interruption | None = None
    wake: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _in_user_code: bool = False

    @property
    def is_overdue(self) -> bool:
        return self.timeout is not None and time.monotonic() - self.started >= self.timeout

    def interrupt(self, interruption: Interruption) -> None:
        """Stop the task: a Python task gets an exception raised in its thread."""
        with self._lock:
            if self.interruption is not None:
                return
            self.interruption = interruption
            if self.kind == "python" and self._in_user_code:
                raise_thread_exception(self.thread_id, TaskInterrupted)
        self.wake.set()

    def enter_user_code(self) -> None:
        with self._lock:
            if self.interruption is not None:
                raise TaskInterrupted()
            self._in_user_code = True

    def leave_user_code(self) -> None:
        # After this, ``interrupt`` raises nothing more in this thread.
        with self._lock:
            self._in_user_code = False


class ActiveTasks:
    """The process-wide set of running attempts."""

    def __init__(self):
        self._lock = threading.Lock()
        self._tasks: dict[int, ActiveTask] = {}

    def add(self, task: ActiveTask) -> None:
        with self._lock:
            self._tasks[task.task_run_id] = task

    def remove(self, task: ActiveTask) -> None:
        with self._lock:
            if self._tasks.get(task.task_run_id) is task:
                del self._tasks[task.task_run_id]

    def snapshot(self) -> list[ActiveTask]:
        with self._lock:
            return list(self._tasks.values())


ACTIVE = ActiveTasks()


class WatchThread(threading.Thread):
    """Timeouts, cancels, log flushes and heartbeats of the tasks running in this process."""

    def __init__(self, tasks: ActiveTasks = ACTIVE):
        super().__init__(name="baton-watch", daemon=True)
        self.tasks = tasks
        self.stopping = threading.Event()
        self.check_interval = settings.BATON_CANCEL_CHECK_INTERVAL
        self.flush_interval = settings.BATON_LOG_FLUSH_INTERVAL
        self.heartbeat_interval = settings.BATON_HEARTBEAT_INTERVAL
        self._next = {"check": 0.0, "flush": 0.0, "heartbeat": 0.0, "presence": 0.0}

    def run(self):
        try:
            while not self.stopping.wait(TICK):
                try:
                    self.tick()
                except Error:  # not an outage (those are noted once, in tick)
                    logger.exception("Baton watch thread: database error; retrying")
                    close_old_connections()
        finally:
            try:
                unless_unreachable(lambda: forget_heartbeat(ProcessKind.WORKER), None)
            except Error:
                logger.warning("Baton watch thread: could not remove this worker's heartbeat")
            connection.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)

    def tick(self) -> None:
        if self._due("presence", self.heartbeat_interval):
            unless_unreachable(record_worker_heartbeat, None)
        tasks = self.tasks.snapshot()
        if not tasks:
            return
        for task in tasks:
            if task.is_overdue:
                message = f"Timed out after {task.timeout:g} s."
                task.interrupt(Interruption(TaskState.FAILED, message, retryable=True))
        check = self._due("check", self.check_interval)
        flush = self._due("flush", self.flush_interval)
        heartbeat = self._due("heartbeat", self.heartbeat_interval)
        if not (check or flush or heartbeat):
            return
        # An outage is logged once; the next ticks simply try again.
        unless_unreachable(lambda: self._store(tasks, check, flush, heartbeat), None)

    def _store(self, tasks: list[ActiveTask], check: bool, flush: bool, heartbeat: bool):
        if check:
            interrupt_stopped(tasks)
        if flush:
            for task in tasks:
                task.writer.flush()
        if heartbeat:
            ids = [task.task_run_id for task in tasks]
            TaskRun.objects.filter(pk__in=ids, state=TaskState.RUNNING).update(
                heartbeat_at=timezone.now()
            )

    def _due(self, what: str, interval: float) -> bool:
        now = time.monotonic()
        if now < self._next[what]:
            return False
        self._next[what] = now + interval
        return True


def record_worker_heartbeat() -> None:
    """This worker process is alive, consuming these queues."""
    queues = sorted(dramatiq.get_broker().get_declared_queues())
    record_heartbeat(ProcessKind.WORKER, queues=queues)


def interrupt_stopped(tasks: list[ActiveTask]) -> None:
    """Interrupt the tasks whose run was cancelled or which a user marked meanwhile."""
    by_id = {task.task_run_id: task for task in tasks}
    stopped = TaskRun.objects.filter(pk__in=by_id).filter(
        ~Q(state=TaskState.RUNNING) | Q(run__state=RunState.CANCELLED)
    )
    for pk, state, run_state in stopped.values_list("pk", "state", "run__state"):
        if run_state == RunState.CANCELLED:
            interruption = Interruption(TaskState.CANCELLED, "Cancelled: the run was cancelled.")
        else:
            interruption = Interruption(state, f"Stopped: the task was marked {state}.")
        by_id[pk].interrupt(interruption)


_watch: WatchThread | None = None
_watch_lock = threading.Lock()


def start_watch() -> None:
    """Start this process's watch thread (once)."""
    global _watch
    with _watch_lock:
        if _watch is None or not _watch.is_alive():
            _watch = WatchThread()
            _watch.start()


def watch_is_running() -> bool:
    """Whether this process's watch thread runs (``start_watch`` starts a new one if not)."""
    return _watch is not None and _watch.is_alive()


def stop_watch() -> None:
    global _watch
    with _watch_lock:
        if _watch is not None:
            _watch.stop()
            _watch = None
