"""Whether a pending task may start, given the states of its upstream tasks."""

from enum import Enum

from workflows.tasks import TriggerRule

from .states import FAILED_TASK_STATES, FINISHED_TASK_STATES, TaskState


class Decision(Enum):
    WAIT = "wait"  # some upstream task has not finished yet
    READY = "ready"
    UPSTREAM_FAILED = TaskState.UPSTREAM_FAILED
    SKIPPED = TaskState.SKIPPED


def decide(rule: str, upstream_states: list[str]) -> Decision:
    """Apply a trigger rule, deciding as early as the rule allows (like Airflow).

    - ``all_success``: every upstream succeeded; one failed → upstream_failed,
      one skipped → skipped.
    - ``all_done``: every upstream finished, whatever its state.
    - ``one_failed``: starts as soon as one upstream failed; none did → skipped.
    - ``none_failed``: every upstream finished and none failed (skipped is fine).
    """
    failed = any(state in FAILED_TASK_STATES for state in upstream_states)
    all_done = all(state in FINISHED_TASK_STATES for state in upstream_states)
    if rule == TriggerRule.ONE_FAILED:
        if failed:
            return Decision.READY
        return Decision.SKIPPED if all_done else Decision.WAIT
    if rule in (TriggerRule.ALL_SUCCESS, TriggerRule.NONE_FAILED) and failed:
        return Decision.UPSTREAM_FAILED
    if not all_done:
        return Decision.WAIT
    if rule == TriggerRule.ALL_SUCCESS and TaskState.SKIPPED in upstream_states:
        return Decision.SKIPPED
    return Decision.READY
