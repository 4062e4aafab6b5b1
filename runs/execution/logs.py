"""Task logs: what a task prints or logs goes to its own log, in chunks, while it runs.

Several tasks run at once in one worker process, each in its own thread. One
logging handler and one ``sys.stdout``/``sys.stderr`` proxy are installed per
process; they look up the writer of the *current thread*, so concurrent tasks
never mix their logs, and threads that run no task write where they always did.
"""

import logging
import sys
import threading
from collections import deque
from contextlib import contextmanager

from django.conf import settings

from ..models import TaskLogChunk

MASK = "***"
# Shorter secret values would mask every occurrence of common letters.
MIN_SECRET_LENGTH = 3
TAIL_LINES = 20
# A line still being written is held back until its end, so a secret split
# across two writes is still masked, unless it grows past this.
MAX_PARTIAL_LINE = 64 * 1024

_current = threading.local()


class TaskLogWriter:
    """The log of one attempt: buffered in memory, stored as TaskLogChunk rows by ``flush``."""

    def __init__(self, *, task_run_id: int, attempt: int, secrets: list[str] = ()):
        self.task_run_id = task_run_id
        self.attempt = attempt
        self.max_bytes = settings.BATON_TASK_LOG_MAX_BYTES
        self._secrets = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len)[::-1]
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending: list[str] = []
        self._size = 0
        self._truncated = False
        self._seq = 0
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)

    def write(self, text: str) -> None:
        """Append text (any thread); beyond the size cap, a marker and then nothing."""
        if not text:
            return
        with self._lock:
            if self._truncated:
                return
            size = len(text.encode("utf-8", "replace"))
            if self._size + size > self.max_bytes:
                keep = max(0, self.max_bytes - self._size)
                text = text.encode("utf-8", "replace")[:keep].decode("utf-8", "ignore")
                text += (
                    f"\n[Baton: log truncated: this attempt wrote more than "
                    f"{self.max_bytes:,} bytes (BATON_TASK_LOG_MAX_BYTES); the rest is dropped]\n"
                )
                self._truncated = True
            self._size += size
            self._pending.append(text)

    def flush(self, *, final: bool = False) -> None:
        """Store what was written since the last flush as one chunk."""
        with self._flush_lock:
            text = self._take(final)
            if not text:
                return
            try:
                TaskLogChunk.objects.create(
                    task_run_id=self.task_run_id, attempt=self.attempt, seq=self._seq, text=text
                )
            except Exception:
                with self._lock:  # keep it for the next flush
                    self._pending.insert(0, text)
                raise
            self._seq += 1
            self._tail.extend(text.splitlines())

    def _take(self, final: bool) -> str:
        with self._lock:
            text = "".join(self._pending)
            self._pending = []
            if not final:
                end = text.rfind("\n") + 1
                if len(text) - end < MAX_PARTIAL_LINE and end < len(text):
                    self._pending = [text[end:]]
                    text = text[:end]
        return self.mask(text)

    def mask(self, text: str) -> str:
        """The text with every secret value replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def tail(self) -> str:
        """The last lines stored (masked), for error messages."""
        return "\n".join(self._tail)


class _TaskLogFormatter(logging.Formatter):
    """``context.logger`` lines without the logger name; other loggers keep theirs."""

    _short = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    _long = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record):
        chosen = self._short if record.name.startswith(TASK_LOGGER) else self._long
        return chosen.format(record)


class _RoutingHandler(logging.Handler):
    def emit(self, record):
        writer = getattr(_current, "writer", None)
        if writer is None:
            return
        try:
            writer.write(self.format(record) + "\n")
        except Exception:  # logging must never break the task, as logging.Handler does
            self.handleError(record)


class _RoutedStream:
    """Stands in for sys.stdout/sys.stderr: a task thread's writes go to its log."""

    def __init__(self, original):
        self._original = original

    def write(self, text):
        writer = getattr(_current, "writer", None)
        if writer is None:
            return self._original.write(text)
        writer.write(text)
        return len(text)

    def flush(self):
        if getattr(_current, "writer", None) is None:
            self._original.flush()

    def __getattr__(self, name):
        return getattr(self._original, name)


TASK_LOGGER = "baton.task"
_handler = _RoutingHandler()
_handler.setFormatter(_TaskLogFormatter())
_install_lock = threading.Lock()


def install_log_capture() -> None:
    """Route logging and print() of task threads to their logs (idempotent, cheap)."""
    with _install_lock:
        root = logging.getLogger()
        if _handler not in root.handlers:
            root.addHandler(_handler)
        task_logger = logging.getLogger(TASK_LOGGER)
        if _handler not in task_logger.handlers:
            # context.logger lines belong to the task log, not to the worker's console.
            task_logger.addHandler(_handler)
            task_logger.propagate = False
            task_logger.setLevel(logging.INFO)
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if not isinstance(stream, _RoutedStream):
                setattr(sys, name, _RoutedStream(stream))


@contextmanager
def capture_output(writer: TaskLogWriter):
    """While active, this thread's logging and print() go to ``writer``."""
    install_log_capture()
    previous = getattr(_current, "writer", None)
    _current.writer = writer
    try:
        yield writer
    finally:
        _current.writer = previous


def task_logger(workflow: str, task: str) -> logging.Logger:
    """The logger a task gets as ``context.logger``."""
    return logging.getLogger(f"{TASK_LOGGER}.{workflow}.{task}")
