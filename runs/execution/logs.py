"""Task logs: what a task prints or logs goes to its own log, in chunks, while it runs.

Several tasks run at once in one worker process, each in its own thread. One
log record factory and one ``sys.stdout``/``sys.stderr`` proxy are installed per
process; they look up the writer of the *current thread*, so concurrent tasks
never mix their logs, and threads that run no task write where they always did.

While a task runs, its secret values are masked in every log record and every
write to the process's stdout/stderr, whichever thread or handler they come from.
"""

import logging
import sys
import threading
from collections import Counter, deque
from contextlib import contextmanager

from django.conf import settings
from django.db import IntegrityError, transaction

from workflows.parameter_limits import escaped

from ..models import TaskLogChunk

MASK = "***"
# Shorter secret values would mask every occurrence of common letters.
MIN_SECRET_LENGTH = 3
TAIL_LINES = 20
# A line still being written is held back until its end, so a secret split
# across two writes is still masked, unless it grows past this.
MAX_PARTIAL_LINE = 64 * 1024

_current = threading.local()


def mask_secrets(text: str, secrets) -> str:
    """``text`` with each of ``secrets`` (longest first) replaced by ***."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


class TaskLogWriter:
    """The log of one attempt: buffered in memory, stored as TaskLogChunk rows by ``flush``."""

    def __init__(self, *, task_run_id: int, attempt: int, secrets: list[str] = ()):
        self.task_run_id = task_run_id
        self.attempt = attempt
        self.max_bytes = settings.BATON_TASK_LOG_MAX_BYTES
        maskable = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}
        self._secrets = tuple(sorted(maskable, key=len, reverse=True))
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
                self._store(text)
            except Exception:
                with self._lock:  # keep it for the next flush
                    self._pending.insert(0, text)
                raise
            self._seq += 1
            self._tail.extend(text.splitlines())

    def _store(self, text: str) -> None:
        chunk = {"task_run_id": self.task_run_id, "attempt": self.attempt, "seq": self._seq}
        try:
            with transaction.atomic():  # a savepoint when a caller's transaction is open
                TaskLogChunk.objects.create(**chunk, text=text)
        except IntegrityError:
            # The insert committed but its answer was lost (a database restart): the
            # retried flush finds its own chunk and goes on, rather than failing forever.
            if not TaskLogChunk.objects.filter(**chunk).exists():
                raise

    def _take(self, final: bool) -> str:
        with self._lock:
            text = "".join(self._pending)
            self._pending = []
            if not final:
                end = text.rfind("\n") + 1
                if len(text) - end < MAX_PARTIAL_LINE and end < len(text):
                    self._pending = [text[end:]]
                    text = text[:end]
        # PostgreSQL stores no NUL and no lone surrogate: they are kept as \u escapes.
        return escaped(self.mask(text))

    @property
    def secrets(self) -> tuple[str, ...]:
        return self._secrets

    def mask(self, text: str) -> str:
        """The text with every secret value replaced by ***."""
        return mask_secrets(text, self._secrets)

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


class _ActiveSecrets:
    """The secret values of every task running in this process, to mask any output with."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._values: tuple[str, ...] = ()

    def add(self, secrets) -> None:
        with self._lock:
            self._counts.update(secrets)
            self._refresh()

    def remove(self, secrets) -> None:
        with self._lock:
            self._counts.subtract(secrets)
            self._counts = +self._counts  # drop the values no running task holds any more
            self._refresh()

    def _refresh(self) -> None:
        self._values = tuple(sorted(self._counts, key=len, reverse=True))

    def __bool__(self):
        return bool(self._values)

    def mask(self, text: str) -> str:
        return mask_secrets(text, self._values)


ACTIVE_SECRETS = _ActiveSecrets()


def _mask_record(record: logging.LogRecord) -> None:
    """Mask the running tasks' secrets in the record's message, traceback and stack.

    Done when the record is made, so every handler (the worker's console, a file, a
    handler a task's module installed) gets the masked text, whatever its formatter.
    A record without a secret is left as it was (its message template, its exception).
    """
    try:
        message = record.getMessage()
    except (TypeError, ValueError, KeyError):  # arguments that do not fit the format
        message = f"{record.msg} (arguments: {record.args!r})"
    masked = ACTIVE_SECRETS.mask(message)
    if masked != message:
        record.msg, record.args = masked, ()
    if record.exc_info:
        text = _formatter.formatException(record.exc_info)
        masked = ACTIVE_SECRETS.mask(text)
        if masked != text:
            # Formatters append exc_text when set; the exception object would carry the
            # secret in clear to a handler that renders it again, so it is dropped.
            record.exc_text, record.exc_info = masked, None
    elif record.exc_text:
        record.exc_text = ACTIVE_SECRETS.mask(record.exc_text)
    if record.stack_info:
        record.stack_info = ACTIVE_SECRETS.mask(record.stack_info)


def _record_factory(previous):
    def make_record(*args, **kwargs):
        record = previous(*args, **kwargs)
        if ACTIVE_SECRETS:
            _mask_record(record)
        writer = getattr(_current, "writer", None)
        if writer is not None:
            # Every record made in a task thread reaches its log here, once, whatever
            # loggers, propagation and handlers the project or the task set up.
            try:
                writer.write(_formatter.format(record) + "\n")
            except Exception:  # logging must never break the task, as logging.Handler does
                _null_handler.handleError(record)
        return record

    return make_record


_HANDLE_CODE = logging.Handler.handle.__code__
_STACK_DEPTH = 10


def _inside_log_handler() -> bool:
    """Whether this write comes from a logging handler (a console handler, logging.lastResort).

    Such a record already reached the task log through the record factory: written
    to the task log again it would appear twice.
    """
    frame = sys._getframe(2)
    for _ in range(_STACK_DEPTH):
        if frame is None:
            return False
        if frame.f_code is _HANDLE_CODE:
            return True
        frame = frame.f_back
    return False


class _RoutedStream:
    """Stands in for sys.stdout/sys.stderr: a task thread's writes go to its log.

    What reaches the real stream (other threads, logging handlers) is masked too.
    """

    def __init__(self, original):
        self._original = original

    def write(self, text):
        writer = getattr(_current, "writer", None)
        if writer is None or _inside_log_handler():
            if ACTIVE_SECRETS and isinstance(text, str):
                text = ACTIVE_SECRETS.mask(text)
            return self._original.write(text)
        writer.write(text)
        return len(text)

    def flush(self):
        if getattr(_current, "writer", None) is None:
            self._original.flush()

    def __getattr__(self, name):
        return getattr(self._original, name)


TASK_LOGGER = "baton.task"
_formatter = _TaskLogFormatter()
_null_handler = logging.NullHandler()
_install_lock = threading.Lock()
_installed = False


def install_log_capture() -> None:
    """Route logging and print() of task threads to their logs (idempotent, cheap)."""
    global _installed
    with _install_lock:
        if not _installed:
            logging.setLogRecordFactory(_record_factory(logging.getLogRecordFactory()))
            task_logger = logging.getLogger(TASK_LOGGER)
            # context.logger lines belong to the task log (the record factory writes them
            # there), not to the worker's console, nor to logging.lastResort.
            task_logger.addHandler(_null_handler)
            task_logger.propagate = False
            task_logger.setLevel(logging.INFO)
            _installed = True
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if not isinstance(stream, _RoutedStream):
                setattr(sys, name, _RoutedStream(stream))


@contextmanager
def capture_output(writer: TaskLogWriter):
    """While active, this thread's logging and print() go to ``writer``.

    Meanwhile the writer's secrets are masked in whatever any thread of this
    process logs or prints.
    """
    install_log_capture()
    previous = getattr(_current, "writer", None)
    _current.writer = writer
    ACTIVE_SECRETS.add(writer.secrets)
    try:
        yield writer
    finally:
        ACTIVE_SECRETS.remove(writer.secrets)
        _current.writer = previous


def task_logger(workflow: str, task: str) -> logging.Logger:
    """The logger a task gets as ``context.logger``."""
    return logging.getLogger(f"{TASK_LOGGER}.{workflow}.{task}")
