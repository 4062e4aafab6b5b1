"""Waits and approval steps at run time: a check that says "not yet" ends as ``waiting``.

The attempt ends and its worker thread is free; ``end_attempt`` stores the next
check's time and sends the task's message with that delay (as for a retry), so
the next check is claimed like a due retry. An approval step is opened the same
way: it waits, with a message at its deadline if it has one, until a person
decides (``runs.approvals``).
"""

from datetime import datetime

from django.contrib.auth.models import Group
from django.utils.translation import gettext as _

from workflows.tasks import TaskNode
from workflows.waits import NotYet

from ..models import TaskRun
from ..states import TaskState
from .outcome import Outcome

# How a check's "not yet" travels from the task function to the outcome, as JSON.
NOT_YET = "$baton_not_yet"


def waiting_fields(node: TaskNode) -> dict:
    """The TaskRun columns of a step's pool, priority and approval (for a new run)."""
    fields = {"pool": node.options.pool or "", "priority": node.options.priority}
    if node.approval is not None:
        fields["approval"] = {"title": node.approval.title, "group": node.approval.group}
    return fields


def as_check(fn):
    """``fn`` for a wait: its ``NotYet`` (not JSON) becomes the "not yet" marker."""

    def check(*args, **kwargs):
        value = fn(*args, **kwargs)
        return {NOT_YET: value.at.isoformat()} if isinstance(value, NotYet) else value

    return check


def check_outcome(task_run: TaskRun, node: TaskNode, outcome: Outcome, now: datetime) -> Outcome:
    """A wait's outcome: its true result succeeds; "not yet" waits, or fails past its timeout."""
    result = outcome.result
    if outcome.state != TaskState.SUCCESS:
        return outcome
    if isinstance(result, dict) and NOT_YET in result:
        at = result[NOT_YET]
    elif result:
        return outcome
    else:
        at = None  # False, None, 0, "", []: not yet
    spec = node.wait
    deadline = task_run.wait_deadline
    if deadline is None and spec.timeout is not None:
        deadline = task_run.started_at + spec.timeout  # from the first check
    if deadline is not None and now >= deadline:
        return Outcome.failed(
            _("Still not ready after %(timeout)s (%(checks)s checks): the wait gave up.")
            % {"timeout": spec.timeout, "checks": task_run.attempt},
            retryable=False,
        )
    next_check = datetime.fromisoformat(at) if at else now + spec.every
    if deadline is not None:
        next_check = min(next_check, deadline)
    return Outcome(TaskState.WAITING, next_check_at=next_check, wait_deadline=deadline)


def approval_outcome(task_run: TaskRun, node: TaskNode, now: datetime) -> Outcome:
    """Open an approval step (waiting for a decision), or reject it once its time is up."""
    spec = node.approval
    if not Group.objects.filter(name=spec.group).exists():
        return Outcome.failed(
            _(
                "Approvers group '%(group)s' does not exist (named at %(file)s:%(line)s): "
                "create it in the admin under Groups, or fix approvers= in the code."
            )
            % {"group": spec.group, "file": node.file, "line": node.line},
            retryable=False,
        )
    deadline = task_run.wait_deadline
    if deadline is None and spec.timeout is not None:
        deadline = task_run.started_at + spec.timeout  # from the step's opening
    if deadline is not None and now >= deadline:
        error = _("Rejected: nobody decided within %(timeout)s.") % {"timeout": spec.timeout}
        return Outcome(TaskState.FAILED, error=error, wait_deadline=deadline)
    return Outcome(TaskState.WAITING, next_check_at=deadline, wait_deadline=deadline)


def timed_out_approval(node: TaskNode, outcome: Outcome) -> bool:
    """Whether ``outcome`` is an approval step's rejection for want of a decision."""
    return node.kind == "approval" and outcome.state == TaskState.FAILED and outcome.wait_deadline
