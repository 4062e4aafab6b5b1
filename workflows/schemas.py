"""What the REST API says about workflows (see ``workflows/api.py``)."""

from datetime import datetime

from ninja import Schema
from pydantic import Field


class ScheduleOut(Schema):
    name: str
    text: str = Field(description="The schedule in words, e.g. 'every day at 03:00, UTC'.")
    next_run_at: datetime | None = Field(
        description="When it next starts a run; null when disabled, paused or finished."
    )
    enabled: bool


class LastRunOut(Schema):
    id: int
    number: int
    state: str
    created_at: datetime


class TaskSpecOut(Schema):
    name: str
    kind: str
    upstream: list[str]


class WorkflowOut(Schema):
    slug: str
    title: str
    description: str
    tags: list[str]
    is_active: bool = Field(description="False once the workflow was removed from the code.")
    is_paused: bool = Field(description="A paused workflow starts no scheduled run.")
    parameter_schema: dict = Field(
        description="JSON Schema of the `parameters` object that starts a run."
    )
    schedules: list[ScheduleOut]
    next_run_at: datetime | None = Field(description="The soonest next run of its schedules.")
    last_run: LastRunOut | None
    last_run_state: str | None = Field(description="State of the newest run, null if none.")


class WorkflowDetailOut(WorkflowOut):
    tasks: list[TaskSpecOut]
