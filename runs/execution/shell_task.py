"""Running a ``shell(...)`` task: an argv list, no shell, its output streamed to the log."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from django.conf import settings

from ..states import TaskState
from .outcome import Outcome
from .watch import ActiveTask

GUARD = Path(__file__).with_name("shell_guard.py")


def run_shell_task(argv: list[str], *, env: dict, cwd: str | None, active: ActiveTask) -> Outcome:
    """Run the command in its own process group; timeout, cancel and the worker's death
    kill the whole group."""
    try:
        process = start_guarded(argv, env=env, cwd=cwd)
    except OSError as exc:
        hint = " (is it executable? chmod +x)" if isinstance(exc, PermissionError) else ""
        return Outcome.failed(
            f"Could not start {argv[0]!r}: {exc.strerror}{hint}.", retryable=False
        )
    reader = threading.Thread(target=pump_output, args=(process, active), daemon=True)
    reader.start()
    waiter = threading.Thread(target=wake_when_done, args=(process, active), daemon=True)
    waiter.start()
    active.wake.wait()
    if process.poll() is None:  # woken by a timeout or a cancel
        kill_group(process, grace=settings.BATON_KILL_GRACE_SECONDS)
    reader.join(timeout=2)
    active.writer.flush(final=True)
    return _outcome(process.returncode, active)


def start_guarded(
    argv: list[str], *, env: dict, cwd: str | None, pass_fds: tuple[int, ...] = ()
) -> subprocess.Popen:
    """``argv`` under ``shell_guard`` (its parent, the leader of a new session and group),
    so that the group dies with this process; OSError if the command cannot start.
    ``pass_fds`` stay open in the command (an isolated task's input and result pipes)."""
    status_read, status_write = os.pipe()
    try:
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(GUARD), str(os.getpid()), str(status_write), *argv],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=(status_write, *pass_fds),
        )
    except OSError:
        os.close(status_read)
        raise
    finally:
        os.close(status_write)
    with os.fdopen(status_read, "rb") as status:
        failure = status.read()  # the guard closes it once the command runs
    if failure:
        process.wait()
        process.stdout.close()
        errno = int(failure)
        raise OSError(errno, os.strerror(errno))
    return process


def pump_output(process: subprocess.Popen, active: ActiveTask) -> None:
    """Copy the process's output to the task log, line by line, until it ends."""
    for line in iter(process.stdout.readline, b""):
        active.writer.write(line.decode("utf-8", "replace"))
    process.stdout.close()


def wake_when_done(process: subprocess.Popen, active: ActiveTask) -> None:
    """Wake the attempt's thread when the process exits."""
    process.wait()
    active.wake.set()


def kill_group(process: subprocess.Popen, *, grace: float) -> None:
    """SIGTERM to the process's group, SIGKILL after ``grace`` seconds."""
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has exited already
        os.killpg(process.pid, sig)


def _outcome(code: int, active: ActiveTask) -> Outcome:
    if active.interruption is not None:
        return Outcome.interrupted(active.interruption)
    tail = active.writer.tail()
    if code == 0:
        lines = [line for line in tail.splitlines() if line.strip()]
        # Like Airflow's BashOperator: the last line of output is the result.
        return Outcome(TaskState.SUCCESS, result=lines[-1] if lines else None)
    if code < 0:
        ended = f"Killed by signal {signal.Signals(-code).name}."
    else:
        ended = f"Exited with code {code}."
    return Outcome.failed(ended + (f" Last lines of the log:\n{tail}" if tail else ""))
