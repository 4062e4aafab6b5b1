"""The approval steps of the run page and of the approvers' home page.

{% load approvals %}
{% approval_steps run task_runs user as steps %}     the run's approval steps waiting for a decision
{% approvals_waiting user as waiting %}    the steps ``user`` may decide, for the home page
"""

from dataclasses import dataclass

from django import template

from runs.approvals import approvals_waiting_for, is_approver
from runs.models import TaskRun
from runs.states import TaskState

register = template.Library()


@dataclass(frozen=True)
class ApprovalStep:
    task_run: TaskRun
    title: str
    group: str
    is_approver: bool  # may reject (and approve, unless they started the run)
    started_the_run: bool

    @property
    def may_approve(self) -> bool:
        return self.is_approver and not self.started_the_run


@register.simple_tag
def approval_steps(run, task_runs, user) -> list[ApprovalStep]:
    """The approval steps among ``task_runs`` (the page's) that wait for a decision."""
    waiting = [t for t in task_runs if t.kind == "approval" and t.state == TaskState.WAITING]
    return [
        ApprovalStep(
            task_run=task,
            title=task.approval["title"],
            group=task.approval["group"],
            is_approver=is_approver(user, task),
            started_the_run=run.started_by_id is not None and run.started_by_id == user.pk,
        )
        for task in waiting
    ]


@register.simple_tag
def approvals_waiting(user) -> list[TaskRun]:
    return approvals_waiting_for(user)
