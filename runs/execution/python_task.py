"""Running a ``@task`` function in the worker thread."""

import traceback

from workflows.context import TaskContext, task_context

from .logs import capture_output
from .outcome import Outcome, result_outcome
from .watch import ActiveTask, TaskInterrupted


def run_python_task(fn, args, kwargs, *, context: TaskContext, active: ActiveTask) -> Outcome:
    """Call the task function with its context and log capture; never raises for its errors."""
    with task_context(context), capture_output(active.writer):
        try:
            value = _call(fn, args, kwargs, active)
        except TaskInterrupted:
            return Outcome.interrupted(active.interruption)
        except (Exception, SystemExit) as exc:  # the task's own failure, recorded as such
            text = _user_traceback(exc)
            active.writer.write(text)
            error = f"{type(exc).__name__}: {exc}"
            return Outcome.failed(active.writer.mask(error), traceback=active.writer.mask(text))
    if active.interruption is not None:  # it swallowed the interrupt, or ended as it came
        return Outcome.interrupted(active.interruption)
    return result_outcome(value)


def _call(fn, args, kwargs, active: ActiveTask):
    try:
        active.enter_user_code()
        try:
            return fn(*args, **kwargs)
        finally:
            active.leave_user_code()
    finally:
        # An interrupt raised just before ``leave_user_code`` may still be pending:
        # CPython delivers it when this thread next enters a Python function, so
        # enter one here, where the caller catches it, not later in Baton's own code.
        _deliver_pending_interrupt()


def _deliver_pending_interrupt() -> None:
    return None


def _user_traceback(exc: BaseException) -> str:
    """The traceback from the task function down, without Baton's own frames above it."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))
