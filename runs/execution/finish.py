"""Ending an attempt: record it, then decide what comes next, in one transaction."""

from django.db import transaction
from django.utils import timezone

from workflows.tasks import TaskOptions

from ..dispatch import send_after_commit
from ..models import TaskAttempt, TaskRun, WorkflowRun
from ..progress import advance_run, end_run_if_done
from ..states import RunState, TaskState
from .outcome import Outcome
from .statements import record_success, run_has_active_tasks


def end_attempt(task_run: TaskRun, outcome: Outcome, *, options: TaskOptions | None) -> str | None:
    """Store the attempt's outcome and move the run forward; returns the state recorded.

    A retryable failure with attempts left becomes ``up_for_retry``, its message
    sent with a delay. Otherwise the downstream tasks are decided and the ready
    ones sent on commit, and the run ends when nothing is left to do. An attempt
    that did not succeed is kept as a TaskAttempt. None when the task had left
    ``running`` meanwhile (a user marked it): its result is then not stored.
    """
    now = timezone.now()
    if outcome.state == TaskState.SUCCESS and not task_run.downstream:
        return _end_leaf_success(task_run, outcome, now)
    with transaction.atomic():
        # The run's lock orders the decisions of tasks ending together (see runs.progress).
        run = (
            WorkflowRun.objects.select_for_update()
            .only("state", "workflow_id")
            .get(pk=task_run.run_id)
        )
        target, delay = outcome.state, None
        if _should_retry(task_run, outcome, run, options):
            target = TaskState.UP_FOR_RETRY
            delay = options.delay_before_attempt(task_run.attempt + 1)
        next_attempt_at = now + delay if delay is not None else None
        moved = _record(task_run, target, outcome, now, next_attempt_at=next_attempt_at)
        if outcome.state != TaskState.SUCCESS or not moved:
            _keep_attempt(task_run, outcome, now)
        if not moved:
            return None
        if delay is not None:
            send_after_commit([(task_run.pk, task_run.queue)], delay=delay)
        elif run.state == RunState.RUNNING:
            advance_run(run, candidates=task_run.downstream, now=now)
    return target


def _end_leaf_success(task_run: TaskRun, outcome: Outcome, now) -> str | None:
    # Nothing to decide downstream, so no need for the run's lock: one UPDATE, then a
    # check, made after the commit, whether it was the run's last task. Most tasks of a
    # wide fan-out end here, without queueing behind each other on the run's row.
    if not record_success(task_run, outcome.result, now):
        _keep_attempt(task_run, outcome, now)
        return None
    if not run_has_active_tasks(task_run.run_id):
        end_run_if_done(task_run.run_id)
    return TaskState.SUCCESS


def _should_retry(task_run, outcome: Outcome, run, options: TaskOptions | None) -> bool:
    return (
        outcome.state == TaskState.FAILED
        and outcome.retryable
        and options is not None
        and task_run.attempt < task_run.max_attempts
        and run.state == RunState.RUNNING
    )


def _record(task_run: TaskRun, target: str, outcome: Outcome, now, next_attempt_at=None) -> bool:
    """running → target with the attempt's result; False when the task had left running."""
    return bool(
        TaskRun.objects.filter(pk=task_run.pk, state=TaskState.RUNNING).move(
            target,
            now=now,
            result=outcome.result,
            error=outcome.error,
            traceback=outcome.traceback,
            next_attempt_at=next_attempt_at,
        )
    )


def _keep_attempt(task_run: TaskRun, outcome: Outcome, now) -> None:
    TaskAttempt.objects.create(
        task_run_id=task_run.pk,
        number=task_run.attempt,
        state=outcome.state,
        worker=task_run.worker,
        started_at=task_run.started_at,
        finished_at=now,
        error=outcome.error,
        traceback=outcome.traceback,
    )
