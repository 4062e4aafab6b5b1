"""``context``: what a running task knows about its run.

from workflows import context

@task
def report():
    context.logger.info("run %s, attempt %s", context.run_id, context.attempt)
"""

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TaskContext:
    run_id: int
    workflow: str
    task: str
    parameters: dict
    logical_date: datetime | None
    attempt: int
    logger: logging.Logger


_current: ContextVar[TaskContext | None] = ContextVar("baton_task_context", default=None)


class OutsideTaskError(RuntimeError):
    pass


class _ContextProxy:
    """Reads the context of the task running in this thread."""

    def __getattr__(self, name):
        current = _current.get()
        if current is None:
            raise OutsideTaskError(f"workflows.context.{name} is only available while a task runs")
        return getattr(current, name)

    def __repr__(self):
        return f"<task context {_current.get()!r}>"


context = _ContextProxy()


@contextmanager
def task_context(value: TaskContext):
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)
