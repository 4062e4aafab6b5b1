"""What the REST API says about runs, task runs and logs, and what it accepts (``runs/api.py``)."""

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, field_validator

from config.schemas import StrictInput
from workflows.parameter_limits import find_bad_text

from .models import WorkflowRun
from .selectors import task_runs_of
from .states import RunState, TaskState


class TriggerIn(StrictInput):
    # Checked by the workflow's parameter validator, which names the field at fault
    # (text PostgreSQL cannot store included).
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="Parameter values by name (see the workflow's `parameter_schema`); "
        "omitted ones take their defaults, `null` is accepted only by an optional "
        "(`X | None`) parameter. Invalid values are a 422 with messages by parameter name.",
    )


def _reason_checker(missing: str):
    """A "before" validator: some words, no text PostgreSQL cannot store; ``missing`` if blank."""

    def reason_has_words(cls, value):
        if not isinstance(value, str):
            return value  # Pydantic says "Input should be a valid string"
        if not value.strip():
            raise ValueError(missing)
        bad = find_bad_text(value)
        if bad:
            raise ValueError(str(bad.message))
        return value.strip()

    return field_validator("reason", mode="before")(classmethod(reason_has_words))


def _reason(description: str):
    # The pattern documents what the validator checks, in its own words: some words, no NUL.
    return Field(
        min_length=1,
        max_length=2000,
        pattern=r"^[^\x00]*[^\s\x00][^\x00]*$",
        description=description,
    )


class MarkIn(StrictInput):
    state: Literal["success", "failed"]
    reason: str = _reason("Why, kept with the task and in the audit.")
    check_reason = _reason_checker("Say why you mark this task.")


class RejectIn(StrictInput):
    reason: str = _reason("Why the step is rejected: shown on the run page, kept in the audit.")
    check_reason = _reason_checker("Say why you reject it.")


class AttemptOut(Schema):
    number: int
    state: TaskState
    worker: str
    started_at: datetime | None
    finished_at: datetime | None
    error: str


class TaskRunOut(Schema):
    name: str
    kind: str
    state: TaskState
    attempt: int = Field(description="Attempts started so far (0: not started yet).")
    max_attempts: int
    upstream: list[str]
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None
    result: Any = None
    error: str
    note: str
    attempts: list[AttemptOut] = Field(description="Finished attempts, oldest first.")

    @staticmethod
    def resolve_name(task_run) -> str:
        return task_run.task_name


class VersionOut(Schema):
    id: int
    code_hash: str = Field(description="The hash of the workflow's code this run is pinned to.")
    origin: str = Field(description="Where the code came from: git, folder or app.")
    revision: str = Field(description="The commit sha (git) or the folder's content hash.")
    commit_message: str
    committed_at: datetime | None


class RunOut(Schema):
    id: int
    workflow: str = Field(description="The workflow's slug.")
    number: int = Field(description="Sequence number within the workflow: #1, #2…")
    state: RunState
    is_finished: bool
    trigger: str
    parameters: dict[str, Any]
    started_by: str | None = Field(description="Username of who started it; null if automatic.")
    note: str
    version: VersionOut | None = Field(
        description="The code version the run's tasks run (null for runs older than versions)."
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def resolve_workflow(run) -> str:
        return run.workflow.slug

    @staticmethod
    def resolve_started_by(run) -> str | None:
        return run.started_by.get_username() if run.started_by else None


class RunDetailOut(RunOut):
    tasks: list[TaskRunOut]

    @staticmethod
    def resolve_tasks(run) -> list:
        return list(task_runs_of(run=run))


class RunPageOut(Schema):
    items: list[RunOut]
    next_cursor: str | None = Field(
        description="Pass it as `cursor` to get the next page; null on the last page."
    )


class TaskLogOut(Schema):
    task: str
    attempt: int
    offset: int = Field(description="The position this text starts at (the offset asked).")
    next_offset: int = Field(description="Pass it as `offset` to read what is written next.")
    text: str
    complete: bool = Field(
        description="True when this attempt has ended: nothing more will be appended."
    )


class RetryOut(RunDetailOut):
    retried: int = Field(description="How many task runs were sent back to run again.")


# RFC 3339, as the OpenAPI "date-time" format says: Pydantic alone would also take
# "0.5" (a Unix time) or a date and time without offset.
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.I)


def _rfc3339_only(value):
    if isinstance(value, str) and not RFC3339.match(value):
        raise ValueError("Give a date and time with its offset, e.g. 2026-01-31T08:00:00Z.")
    return value


def _within_range(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00 is past the year 9999 in UTC
        raise ValueError("This date and time is out of range.") from None


Moment = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only), AfterValidator(_within_range)]


class RunFilters(Schema):
    workflow: str | None = Field(
        None, description="A workflow slug.", max_length=200, pattern=r"^[-a-zA-Z0-9_]+$"
    )
    state: RunState | None = None
    trigger: WorkflowRun.Trigger | None = Field(None, description="How the runs started.")
    created_after: Moment | None = Field(None, description="Runs created at or after this.")
    created_before: Moment | None = Field(None, description="Runs created before this.")
    cursor: str | None = Field(
        None,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The `next_cursor` of the previous page, unchanged: opaque URL-safe "
        "base64. Any other value is a 422.",
    )
    page_size: int = Field(50, ge=1, le=200)
