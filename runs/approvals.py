"""Approval steps: a member of the approvers group approves or rejects, on the run page.

Four eyes: the person who started the run may reject it but not approve it.
Each decision is one conditional UPDATE (waiting → success or failed), the run
moved forward and the audit event written, in one transaction; a second click,
or a decision racing the step's deadline, finds the step decided and changes
nothing.
"""

from django.db import transaction
from django.db.models.fields.json import KT
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import workflows_for
from audit.recorder import SYSTEM, Verb, record_event

from .execution.finish import end_attempt
from .execution.outcome import Outcome
from .models import TaskRun, WorkflowRun
from .progress import advance_run
from .services import ActionRefused
from .states import RunState, TaskState


def is_approver(user, task_run: TaskRun) -> bool:
    """Whether ``user`` is in the approvers group of the approval step ``task_run``."""
    group = (task_run.approval or {}).get("group")
    if not group or not getattr(user, "is_authenticated", False):
        return False
    return user.groups.filter(name=group).exists()


def may_approve(user, task_run: TaskRun, run: WorkflowRun) -> bool:
    """An approver who did not start the run (four eyes)."""
    return is_approver(user, task_run) and run.started_by_id != user.pk


def approve_step(*, task_run: TaskRun, user) -> TaskRun:
    """Approve a waiting approval step: it succeeds and the run goes on. Audited."""
    with transaction.atomic():
        run, task = _locked(task_run, user)
        if run.started_by_id == user.pk:
            raise ActionRefused(
                _(
                    "You started this run, so you may not approve it (four eyes): another "
                    "member of %(group)s must."
                )
                % {"group": task.approval["group"]}
            )
        now = timezone.now()
        who = user.get_username()
        result = {"approved_by": who, "approved_at": now.isoformat()}
        _decide(task, TaskState.SUCCESS, now, result=result, note=_("Approved by %s.") % who)
        if run.state == RunState.RUNNING:
            advance_run(run, candidates=task.downstream, now=now)
        record_event(
            verb=Verb.TASK_APPROVED,
            actor=user,
            obj=task,
            workflow=run.workflow,
            details={"title": task.approval["title"], "approvers": task.approval["group"]},
        )
    task_run.refresh_from_db()
    return task_run


def reject_step(*, task_run: TaskRun, user, reason: str) -> TaskRun:
    """Reject a waiting approval step, saying why: it fails, and so does the run. Audited."""
    reason = (reason or "").strip()
    if not reason:
        raise ActionRefused(_("Say why you reject it: the reason is shown on the run page."))
    with transaction.atomic():
        run, task = _locked(task_run, user)
        now = timezone.now()
        error = _("Rejected by %(user)s: %(reason)s") % {
            "user": user.get_username(),
            "reason": reason,
        }
        _decide(task, TaskState.FAILED, now, error=error, note=error)
        if run.state == RunState.RUNNING:
            advance_run(run, candidates=task.downstream, now=now)
        record_event(
            verb=Verb.TASK_REJECTED,
            actor=user,
            obj=task,
            workflow=run.workflow,
            details={
                "title": task.approval["title"],
                "approvers": task.approval["group"],
                "reason": reason,
            },
        )
    task_run.refresh_from_db()
    return task_run


def _locked(task_run: TaskRun, user) -> tuple[WorkflowRun, TaskRun]:
    run = WorkflowRun.objects.select_for_update().select_related("workflow").get(pk=task_run.run_id)
    task = TaskRun.objects.get(pk=task_run.pk)
    if task.kind != "approval":
        raise ActionRefused(
            _("Step '%(task)s' is not an approval step.") % {"task": task.task_name}
        )
    if not is_approver(user, task):
        raise ActionRefused(
            _("Only members of %(group)s may decide step '%(task)s'.")
            % {"group": task.approval["group"], "task": task.task_name}
        )
    if task.state != TaskState.WAITING:
        raise ActionRefused(
            _("Step '%(task)s' is not waiting for a decision any more (it is %(state)s).")
            % {"task": task.task_name, "state": task.get_state_display()}
        )
    return run, task


def _decide(task: TaskRun, state: str, now, **fields) -> None:
    moved = TaskRun.objects.filter(pk=task.pk, state=TaskState.WAITING).move(
        state, now=now, next_attempt_at=None, **fields
    )
    if not moved:  # unreachable while the run is locked, kept as the rule's statement
        raise ActionRefused(_("The step was decided meanwhile."))


def reject_undecided(task_run: TaskRun, outcome: Outcome) -> str | None:
    """The approval step's deadline passed without a decision: it fails, audited as such."""
    with transaction.atomic():
        state = end_attempt(task_run, outcome, options=None)
        if state == TaskState.FAILED:
            run = WorkflowRun.objects.select_related("workflow").get(pk=task_run.run_id)
            record_event(
                verb=Verb.APPROVAL_TIMED_OUT,
                actor_label=SYSTEM,
                obj=task_run,
                workflow=run.workflow,
                details={"deadline": outcome.wait_deadline, "error": outcome.error},
            )
    return state


def approvals_waiting_for(user, *, limit: int = 20) -> list[TaskRun]:
    """Approval steps waiting for a decision ``user`` may take, oldest first (home page)."""
    if not getattr(user, "is_authenticated", False):
        return []
    waiting = (
        TaskRun.objects.annotate(approvers=KT("approval__group"))  # as text, for IN (…)
        .filter(
            kind="approval",
            state=TaskState.WAITING,
            approvers__in=user.groups.values("name"),
            run__workflow__in=workflows_for(user, "view"),
        )
        .exclude(run__started_by=user)
        .select_related("run__workflow")
        .order_by("finished_at", "pk")
    )
    return list(waiting[:limit])
