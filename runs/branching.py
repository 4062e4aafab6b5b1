"""``@branch`` at run time: check the steps a branch chose, skip the others."""

from workflows.branching import BranchChoiceError, chosen_steps
from workflows.tasks import TaskNode

from .execution.outcome import Outcome
from .models import TaskRun
from .states import TaskState


def followed_branch(task_run: TaskRun, node: TaskNode, outcome: Outcome) -> Outcome:
    """A branch's success with the steps it follows, or a failure naming the choices."""
    if not node.branch or outcome.state != TaskState.SUCCESS:
        return outcome
    try:
        outcome.follow = chosen_steps(node.name, outcome.result, list(task_run.downstream))
    except BranchChoiceError as exc:
        return Outcome.failed(str(exc), retryable=False)
    return outcome


def skip_unchosen(task_run: TaskRun, follow: list[str], now) -> list[str]:
    """Skip the steps right after the branch that it did not choose (call under the run's lock).

    Returns the steps to decide now: the chosen ones and those after a skipped one.
    """
    others = [name for name in task_run.downstream if name not in follow]
    rows = TaskRun.objects.filter(run_id=task_run.run_id, task_name__in=others)
    after_skipped = [name for names in rows.values_list("downstream", flat=True) for name in names]
    note = f"Skipped: branch '{task_run.task_name}' chose {', '.join(follow)}."
    rows.move(TaskState.SKIPPED, now=now, note=note)
    return [*follow, *after_skipped]
