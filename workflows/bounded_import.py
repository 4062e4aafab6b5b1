"""Running a workflow file's import in a helper thread, with a time limit.

A file that loops at import would hang every process that loads workflows (sync,
web, worker, scheduler), and one that calls ``sys.exit()`` would stop it. The
import runs in a thread of its own: whatever it raises, ``SystemExit`` and
``KeyboardInterrupt`` included, is handed back as a value; past the limit the
thread gets an asynchronous exception (as Dramatiq's ``raise_thread_exception``
does for task time limits), which stops a pure-Python loop at its next bytecode.
Code blocked inside a C call (a long ``time.sleep``) cannot be stopped that way:
it is left behind in its daemon thread and reported all the same.
"""

import ctypes
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

# How long a stopped import may take to unwind before the loader moves on.
STOP_GRACE_SECONDS = 1.0


class ImportTimedOut(BaseException):
    """Raised inside an import that ran past its limit.

    A BaseException, so that user code's ``except Exception`` does not swallow it.
    """


@dataclass
class Attempt:
    value: object = None
    error: BaseException | None = None
    timed_out: bool = False
    stuck_at: int | None = None  # the line of the file the import was running when stopped


def run_bounded(load: Callable[[], object], *, file: str, timeout: float) -> Attempt:
    """Call ``load()`` in a helper thread; give up on it after ``timeout`` seconds."""
    attempt = Attempt()

    def target():
        try:
            attempt.value = load()
        except BaseException as exc:  # noqa: B036 - user code may raise anything, even SystemExit
            attempt.error = exc

    thread = threading.Thread(target=target, name=f"baton-import:{file}", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        attempt.timed_out = True
        attempt.stuck_at = _line_running(thread, file)
        _raise_in(thread, ImportTimedOut)
        thread.join(STOP_GRACE_SECONDS)
        attempt.value = None
    return attempt


def _line_running(thread: threading.Thread, file: str) -> int | None:
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code.co_filename == file:
            return frame.f_lineno
        frame = frame.f_back
    return None


def _raise_in(thread: threading.Thread, exc_type: type[BaseException]) -> None:
    set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    count = set_async_exc(ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type))
    if count > 1:  # never expected: undo rather than hit other threads
        set_async_exc(ctypes.c_ulong(thread.ident), None)
