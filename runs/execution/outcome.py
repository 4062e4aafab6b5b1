"""How an attempt ended, and the checks on a task's result."""

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from ..states import TaskState
from .watch import Interruption


@dataclass
class Outcome:
    state: str  # success, failed or cancelled (or the state a user marked meanwhile)
    result: Any = None
    error: str = ""
    traceback: str = ""
    retryable: bool = False

    @classmethod
    def failed(cls, error: str, *, traceback: str = "", retryable: bool = True) -> "Outcome":
        return cls(TaskState.FAILED, error=error, traceback=traceback, retryable=retryable)

    @classmethod
    def interrupted(cls, interruption: Interruption) -> "Outcome":
        return cls(interruption.state, error=interruption.message, retryable=interruption.retryable)


def result_outcome(value: Any) -> Outcome:
    """Success with a JSON result, or a failure saying why the value cannot be stored."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return Outcome.failed(
            f"The task returned a value that is not JSON ({exc}). Results travel between "
            f"tasks as JSON: return dicts, lists, strings, numbers, booleans or None "
            f"(for a date, return date.isoformat()).",
            retryable=False,
        )
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
