"""Running a ``@task`` with requirements: a subprocess of its cached environment's Python.

The same contract as a task in the worker: arguments and context in, a JSON result out
(on a pipe of its own: stdout and stderr are the log), secrets masked, heartbeats, and
timeout and cancel that kill the process group, which also dies with the worker.
"""

import contextlib
import datetime
import decimal
import enum
import json
import os
import threading
import time
from pathlib import Path

from django.conf import settings

from workflows.context import TaskContext
from workflows.tasks import TaskNode

from ..environments.build import EnvironmentBuildFailed, environment_for
from ..environments.interpreters import PythonNotFound
from ..environments.spec import EnvironmentSpec
from .outcome import Outcome, not_json_outcome, result_outcome
from .shell_task import kill_group, pump_output, start_guarded, wake_when_done
from .watch import ActiveTask

INSIDE = Path(__file__).resolve().parent.parent / "environments" / "inside"
TAG = "__baton__"


class UnsendableValue(Exception):
    """An argument or parameter an isolated task cannot receive (not JSON-like)."""


def run_isolated_task(
    node: TaskNode, args: tuple, kwargs: dict, *, context: TaskContext, active: ActiveTask
) -> Outcome:
    """Prepare (or reuse) the task's environment, then run the task in it."""
    writer = active.writer
    try:
        spec = EnvironmentSpec.for_task(node.options.requirements, node.options.python)
        with environment_for(spec, log=writer.write) as path:
            if active.interruption is not None:  # cancelled while its environment was built
                return Outcome.interrupted(active.interruption)
            active.started = time.monotonic()  # its timeout is the task's, not the build's
            writer.write(f"Running in environment {spec.short_key} ({spec.describe()}).\n")
            job = _job(node, args, kwargs, context)
            return _run_in(path, job, active)
    except (PythonNotFound, UnsendableValue) as exc:
        return _refused(writer, str(exc), retryable=False)
    except EnvironmentBuildFailed as exc:
        return _refused(writer, str(exc), retryable=exc.retryable)
    except OSError as exc:  # BATON_ENV_DIR unwritable or full
        message = f"Could not prepare the task's environment in {settings.BATON_ENV_DIR}: {exc}"
        return _refused(writer, message, retryable=False)


def _refused(writer, message: str, *, retryable: bool) -> Outcome:
    writer.write(message + "\n")
    return Outcome.failed(writer.mask(message), retryable=retryable)


def _job(node: TaskNode, args, kwargs, context: TaskContext) -> bytes:
    fn = node.definition.fn
    job = {
        "file": fn.__code__.co_filename,  # where the function is, not where it is called
        "module": fn.__module__,
        "function": fn.__qualname__,
        "args": _encode(list(args), "argument"),
        "kwargs": _encode(kwargs, "argument"),
        "context": {
            "run_id": context.run_id,
            "workflow": context.workflow,
            "task": context.task,
            "parameters": _encode(context.parameters, "parameter"),
            "logical_date": _encode(context.logical_date, "logical date"),
            "attempt": context.attempt,
        },
    }
    return json.dumps(job).encode()


def _encode(value, what: str):
    """JSON, with the dates, times, durations, decimals and enums parameters may hold tagged."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, enum.Enum):
        return {TAG: "enum", "class": type(value).__qualname__, "value": value.value}
    if isinstance(value, (list, tuple)):
        return [_encode(item, what) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _encode(item, what) for key, item in value.items()}
    for kind, types in _TAGGED:
        if isinstance(value, types):
            text = value.total_seconds() if kind == "timedelta" else value
            return {TAG: kind, "value": str(text) if kind == "decimal" else _iso(text)}
    raise UnsendableValue(
        f"An isolated task receives its {what}s as JSON; {value!r} ({type(value).__name__}) "
        f"cannot be sent: pass its id or text instead."
    )


# datetime before date: a datetime is a date too.
_TAGGED = (
    ("datetime", datetime.datetime),
    ("date", datetime.date),
    ("time", datetime.time),
    ("timedelta", datetime.timedelta),
    ("decimal", decimal.Decimal),
)


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _run_in(path: Path, job: bytes, active: ActiveTask) -> Outcome:
    input_read, input_write = os.pipe()
    result_read, result_write = os.pipe()
    argv = [
        str(path / "bin" / "python"),
        "-I",  # the environment's packages only: not the worker's, nor PYTHONPATH
        "-u",
        str(INSIDE / "run_task.py"),
        str(INSIDE / "stand_in"),
        str(input_read),
        str(result_write),
    ]
    try:
        process = start_guarded(
            argv, env=dict(os.environ), cwd=None, pass_fds=(input_read, result_write)
        )
    except OSError as exc:
        os.close(input_write)
        os.close(result_read)
        return Outcome.failed(f"Could not start the environment's Python: {exc.strerror}.")
    finally:
        os.close(input_read)
        os.close(result_write)
    received: list[bytes] = []
    threads = [
        threading.Thread(target=_send, args=(input_write, job), daemon=True),
        threading.Thread(target=_receive, args=(result_read, received), daemon=True),
        threading.Thread(target=pump_output, args=(process, active), daemon=True),
        threading.Thread(target=wake_when_done, args=(process, active), daemon=True),
    ]
    for thread in threads:
        thread.start()
    active.wake.wait()
    if process.poll() is None:  # woken by a timeout or a cancel
        kill_group(process, grace=settings.BATON_KILL_GRACE_SECONDS)
    for thread in threads[:3]:
        thread.join(timeout=2)
    active.writer.flush(final=True)
    return _outcome(process.returncode, b"".join(received), active)


def _send(fd: int, job: bytes) -> None:
    # BrokenPipeError: the process ended before reading it all; its exit says why.
    try:
        with contextlib.suppress(BrokenPipeError):
            view = memoryview(job)
            while view:
                view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _receive(fd: int, received: list[bytes]) -> None:
    with open(fd, "rb") as pipe:
        received.append(pipe.read())


def _outcome(code: int, answer: bytes, active: ActiveTask) -> Outcome:
    if active.interruption is not None:
        return Outcome.interrupted(active.interruption)
    mask = active.writer.mask
    try:
        reply = json.loads(answer)
    except ValueError:  # nothing, or cut short: the process died before it answered
        ended = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
        tail = active.writer.tail()
        return Outcome.failed(
            mask(f"The task's Python process {ended} before returning a result.")
            + (f" Last lines of the log:\n{tail}" if tail else "")
        )
    if reply["ok"]:
        return result_outcome(reply["result"])
    if "not_json" in reply:
        return not_json_outcome(reply["not_json"])
    return Outcome.failed(mask(reply["error"]), traceback=mask(reply["traceback"]))
