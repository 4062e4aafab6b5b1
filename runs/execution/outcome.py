"""How an attempt ended, and the checks on a task's result."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from workflows.parameter_limits import BadText, escaped, find_bad_text

from ..states import TaskState
from .watch import Interruption


@dataclass
class Outcome:
    state: str  # success, failed or cancelled (or the state a user marked meanwhile)
    result: Any = None
    error: str = ""
    traceback: str = ""
    retryable: bool = False
    # A wait that is not over (state waiting): when to check again, when to give up.
    next_check_at: datetime | None = None
    wait_deadline: datetime | None = None
    follow: list | None = None  # a branch's chosen steps (runs.branching): the others skip

    def __post_init__(self):
        # PostgreSQL stores no NUL and no lone surrogate: such text, from any runner, would
        # make recording the finish fail. A message keeps it escaped; a result fails the task.
        self.error, self.traceback = escaped(self.error), escaped(self.traceback)
        bad = find_bad_text(self.result) if self.state == TaskState.SUCCESS else None
        if bad:
            self.state, self.result, self.retryable = TaskState.FAILED, None, False
            self.error = _unstorable_result(bad)

    @classmethod
    def failed(cls, error: str, *, traceback: str = "", retryable: bool = True) -> "Outcome":
        return cls(TaskState.FAILED, error=error, traceback=traceback, retryable=retryable)

    @classmethod
    def interrupted(cls, interruption: Interruption) -> "Outcome":
        return cls(interruption.state, error=interruption.message, retryable=interruption.retryable)


def _unstorable_result(bad: BadText) -> str:
    if bad.is_nul:
        what, fix = "a NUL character (\\u0000)", "remove it, e.g. text.replace('\\x00', '')"
    else:
        what = f"a lone surrogate ({bad.shown}), which is not a Unicode character"
        fix = "decode bytes with errors='replace' rather than 'surrogateescape'"
    return (
        f"The task returned text the database cannot store: {what} in {bad.where()}. "
        f"Return valid text: {fix}."
    )


def not_json_outcome(reason: str) -> Outcome:
    """The failure of a task whose result cannot be JSON (``reason``: json's message)."""
    return Outcome.failed(
        f"The task returned a value that is not JSON ({reason}). Results travel between "
        f"tasks as JSON: return dicts, lists, strings, numbers, booleans or None "
        f"(for a date, return date.isoformat()).",
        retryable=False,
    )


def result_outcome(value: Any) -> Outcome:
    """Success with a JSON result, or a failure saying why the value cannot be stored."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return not_json_outcome(str(exc))
    limit = settings.BATON_TASK_RESULT_MAX_BYTES
    size = len(text.encode())
    if size > limit:
        return Outcome.failed(
            f"The task returned {size:,} bytes of JSON, over the limit of {limit:,} bytes "
            f"(BATON_TASK_RESULT_MAX_BYTES). Store large data elsewhere (a file, a table) "
            f"and return where to find it.",
            retryable=False,
        )
    return Outcome(TaskState.SUCCESS, result=json.loads(text))
