"""``wait_for``, ``wait_until`` and ``approval``: steps that wait without holding a worker.

Between two checks (or until someone decides) the step is ``waiting`` in the
database and no worker thread is busy with it: a delayed message brings it back
when its next check is due, like Airflow's deferrable sensors without a
triggerer process.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from .errors import DefinitionError
from .graph import current_builder
from .references import ParamRef
from .tasks import TaskDefinition, TaskNode, TaskOptions, _caller_location, check_step_name

DEFAULT_EVERY = timedelta(minutes=1)
DEFAULT_TIMEOUT = timedelta(days=7)  # Airflow's sensor default


@dataclass(frozen=True)
class WaitSpec:
    """How a waiting step is checked again: every ``every``, giving up after ``timeout``."""

    every: timedelta | None
    timeout: timedelta | None

    def describe(self) -> dict:
        seconds = {name: getattr(self, name) for name in ("every", "timeout")}
        return {name: value.total_seconds() if value else None for name, value in seconds.items()}


@dataclass(frozen=True)
class ApprovalSpec:
    """Who may decide an approval step, and how long it waits for them."""

    title: str
    group: str
    timeout: timedelta | None

    def describe(self) -> dict:
        timeout = self.timeout.total_seconds() if self.timeout else None
        return {"title": self.title, "approvers": f"group:{self.group}", "timeout": timeout}


@dataclass(frozen=True)
class NotYet:
    """What a check returns to be asked again at ``at`` (``wait_until`` does)."""

    at: datetime


def _check_duration(value, what: str, where: dict, *, optional: bool) -> timedelta | None:
    if value is None and optional:
        return None
    if not isinstance(value, timedelta) or value.total_seconds() < 1:
        allowed = "a datetime.timedelta of at least one second" + (" or None" if optional else "")
        raise DefinitionError(f"{what} must be {allowed}, not {value!r}", **where)
    return value


def _where() -> dict:
    file, line = _caller_location(3)
    builder = current_builder()
    if builder is None:
        raise DefinitionError(
            "a wait or approval step was declared outside a workflow", file=file, line=line
        )
    return {"workflow": builder.workflow, "file": file, "line": line}


def wait_for(check, *, every: timedelta = DEFAULT_EVERY, timeout=DEFAULT_TIMEOUT) -> TaskNode:
    """Make a task a wait: it runs again every ``every`` until it returns a true value.

    ``check`` is a task called in the workflow body, e.g.
    ``wait_for(file_arrived(path), every=timedelta(minutes=1), timeout=timedelta(hours=2))``.
    A false result (False, None, 0, "", []) means "not yet": the step waits, holding no
    worker thread, and is checked again later. A true result is the step's result, for
    downstream tasks. After ``timeout`` (from the first check; None: no limit) the step
    fails. An exception in the check fails it like any task (``retries`` apply).
    """
    where = _where()
    if isinstance(check, TaskDefinition):
        raise DefinitionError(
            f"wait_for takes a task call, e.g. wait_for({check.name}(...)), not the task "
            f"'{check.name}' itself",
            **where,
        )
    if not isinstance(check, TaskNode) or check.kind != "python" or check.wait or check.approval:
        raise DefinitionError(
            f"wait_for checks a @task called in the workflow body, not {check!r}", **where
        )
    if check.mapped:
        raise DefinitionError(
            f"wait_for cannot wait on the mapped step '{check.name}': wait before or after it",
            **where,
        )
    check.wait = WaitSpec(
        every=_check_duration(every, "every", where, optional=False),
        timeout=_check_duration(timeout, "timeout", where, optional=True),
    )
    return check


def _moment_reached(moment) -> str | NotYet:
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            raise ValueError(
                f"wait_until got {moment!r}, which is not a date and time "
                f"(use ISO 8601, e.g. 2026-12-01T18:00:00+00:00)"
            ) from None
    if not isinstance(moment, datetime):
        raise TypeError(f"wait_until got {moment!r}, which is not a date and time")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    if timezone.now() < moment:
        return NotYet(at=moment)
    return moment.isoformat()


_UNTIL = TaskDefinition(_moment_reached, name="wait_until", options=TaskOptions())


def wait_until(moment, *, name: str = "wait_until") -> TaskNode:
    """A step that waits, holding no worker thread, until ``moment`` comes.

    ``moment`` is an aware ``datetime``, a workflow parameter of type ``datetime``,
    or an upstream task's result (a datetime in ISO 8601 text). A naive time is taken
    in the server's time zone. Its result is the moment, in ISO 8601 text.
    """
    where = _where()
    check_step_name(name, what="wait_until", **where)
    if isinstance(moment, datetime) and timezone.is_naive(moment):
        raise DefinitionError(
            f"wait_until needs an aware datetime (with tzinfo), not {moment!r}", **where
        )
    if not isinstance(moment, (datetime, ParamRef, TaskNode)):
        raise DefinitionError(
            f"wait_until takes a datetime, a workflow parameter or a task result, not {moment!r}",
            **where,
        )
    builder = current_builder()
    node = TaskNode(
        name=builder.unique_name(name, _UNTIL),
        kind="python",
        options=TaskOptions(),
        file=where["file"],
        line=where["line"],
        definition=_UNTIL,
        args=(moment,),
        wait=WaitSpec(every=None, timeout=None),
    )
    return builder.add(node)


APPROVERS = re.compile(r"group:(?P<group>[^\s].{0,149})")


def approval(
    title: str, *, approvers: str, timeout: timedelta | None = None, name: str | None = None
) -> TaskNode:
    """A step that waits until a member of ``approvers`` presses Approve or Reject.

    ``approvers`` is ``"group:<name>"`` (a Django group, e.g. ``"group:Finance"``).
    The run page shows the step's Approve and Reject buttons to that group's members
    (a reason is required to reject); the person who started the run may not approve
    it (four eyes). Both are audited. Rejected, or undecided after ``timeout`` (None:
    it waits for ever), the step fails. Its result is who approved it and when.
    The step's name defaults to the title in lower case, e.g. ``finance_sign_off``.
    """
    where = _where()
    if not isinstance(title, str) or not title.strip():
        raise DefinitionError(
            f"approval needs a title such as 'Finance sign-off', not {title!r}", **where
        )
    found = APPROVERS.fullmatch(approvers) if isinstance(approvers, str) else None
    if found is None:
        raise DefinitionError(
            f"approvers must be 'group:<name>', e.g. approvers='group:Finance', not {approvers!r}",
            **where,
        )
    step = name if name is not None else re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
    check_step_name(step, what="approval", **where)
    builder = current_builder()
    node = TaskNode(
        name=builder.unique_name(step, None),
        kind="approval",
        options=TaskOptions(),
        file=where["file"],
        line=where["line"],
        approval=ApprovalSpec(
            title=title.strip(),
            group=found["group"].strip(),
            timeout=_check_duration(timeout, "timeout", where, optional=True),
        ),
    )
    return builder.add(node)


__all__ = ["ApprovalSpec", "NotYet", "WaitSpec", "approval", "wait_for", "wait_until"]
