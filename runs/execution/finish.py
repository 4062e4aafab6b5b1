"""Ending an attempt: record it, then decide what comes next, in one transaction."""

from datetime import timedelta
from enum import Enum

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from workflows.tasks import TaskOptions

from ..branching import skip_unchosen
from ..dispatch import send_after_commit
from ..downstream import decide_pending, record_success_and_queue
from ..mapping import after_instance_end, finish_map_if_done
from ..models import TaskAttempt, TaskRun, WorkflowRun
from ..notifications import events as notifications
from ..pools import release_slot
from ..progress import advance_run, end_run_if_done
from ..states import RunState, TaskState
from .outcome import Outcome
from .reconnect import survives_outages
from .statements import recorded_earlier, run_has_active_tasks


def end_attempt(task_run: TaskRun, outcome: Outcome, *, options: TaskOptions | None) -> str | None:
    """Store the attempt's outcome and move the run forward; returns the state recorded.

    A retryable failure with attempts left becomes ``up_for_retry``, its message
    sent with a delay. Otherwise the downstream tasks are decided and the ready
    ones sent on commit, and the run ends when nothing is left to do. An attempt
    that did not succeed is kept as a TaskAttempt. None when the task had left
    ``running`` meanwhile (a user marked it): its result is then not stored.
    A broken database connection is retried on a new one (see ``reconnect``).
    """
    return _end_attempt(task_run, outcome, options, timezone.now())


class Recorded(Enum):
    NOW = "now"
    EARLIER = "earlier"  # by an earlier try of this same call, whose commit's answer was lost
    NOT = "not"  # the task had left running


@survives_outages
def _end_attempt(task_run, outcome: Outcome, options: TaskOptions | None, now) -> str | None:
    # Safe to run again with the same ``now``: that is how a retry recognises its own commit.
    # A success's next steps are decided after its commit: not inside someone's transaction.
    lock_free = not task_run.pool and outcome.follow is None and not connection.in_atomic_block
    if outcome.state == TaskState.SUCCESS and lock_free:
        return _end_success(task_run, outcome, now)
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
        if target == TaskState.WAITING and run.state != RunState.RUNNING:
            target, outcome = TaskState.CANCELLED, Outcome(TaskState.CANCELLED, error=_ENDED)
        next_attempt_at = now + delay if delay is not None else outcome.next_check_at
        moved = _record(task_run, target, outcome, now, next_attempt_at=next_attempt_at)
        recorded = _recorded(moved, task_run, target, now)
        if task_run.pool:
            release_slot(task_run.pool)  # it left running, whatever it became
        if recorded is Recorded.NOT or outcome.state not in (TaskState.SUCCESS, TaskState.WAITING):
            _keep_attempt(task_run, outcome, now)
        if recorded is Recorded.NOT:
            return None
        after_instance_end(task_run)
        # Messages of an earlier commit whose answer was lost were never sent: send them now.
        if target == TaskState.WAITING:
            _send_at(task_run, next_attempt_at, now)
        elif delay is not None:
            send_after_commit([(task_run.pk, task_run.queue)], delay=delay)
            notifications.task_retried(task_run, workflow_id=run.workflow_id)
        elif run.state == RunState.RUNNING:
            if recorded is Recorded.EARLIER:
                send_after_commit(_queued_downstream(task_run))
            candidates = task_run.downstream
            if outcome.follow is not None:
                candidates = skip_unchosen(task_run, outcome.follow, now)
            advance_run(run, candidates=candidates, now=now)
    return target


def _end_success(task_run: TaskRun, outcome: Outcome, now) -> str | None:
    # One UPDATE, then, after its commit, what comes next: the downstream tasks it made
    # ready (runs.downstream), or whether it was its run's last task. No run lock, so
    # the tasks of a wide fan-out or fan-in do not queue behind each other on its row.
    moved, undecided = record_success_and_queue(task_run, outcome.result, now)
    recorded = _recorded(moved, task_run, TaskState.SUCCESS, now)
    if recorded is Recorded.NOT:
        _keep_attempt(task_run, outcome, now)
        return None
    if recorded is Recorded.EARLIER:
        send_after_commit(_queued_downstream(task_run))  # never sent if the answer was lost
    if task_run.map_parent:
        # Its step is running until its last instance ends: the one check that matters.
        finish_map_if_done(task_run.run_id, task_run.map_parent)
        return TaskState.SUCCESS
    decided = decide_pending(task_run.run_id, undecided, now) or len(undecided) < len(
        task_run.downstream
    )
    if not decided and not run_has_active_tasks(task_run.run_id):
        end_run_if_done(task_run.run_id)
    return TaskState.SUCCESS


_ENDED = "The run ended while this step was waiting."


def _send_at(task_run: TaskRun, when, now) -> None:
    """The message of a waiting step's next check (or an approval's deadline), if any."""
    if when is not None:
        send_after_commit([(task_run.pk, task_run.queue)], delay=max(when - now, timedelta(0)))


def _recorded(moved: bool, task_run: TaskRun, target: str, now) -> Recorded:
    if moved:
        return Recorded.NOW
    return Recorded.EARLIER if recorded_earlier(task_run, target, now) else Recorded.NOT


def _queued_downstream(task_run: TaskRun) -> list[tuple[int, str]]:
    rows = TaskRun.objects.filter(
        run_id=task_run.run_id, task_name__in=task_run.downstream, state=TaskState.QUEUED
    )
    return list(rows.values_list("pk", "queue"))


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
    extra = {}
    if target == TaskState.WAITING:
        # A check is an attempt of its own that uses up no retry; finished_at lets a
        # retried recording recognise its own commit (see ``recorded_earlier``).
        extra = {
            "wait_deadline": outcome.wait_deadline,
            "max_attempts": F("max_attempts") + 1,
            "finished_at": now,
        }
    return bool(
        TaskRun.objects.filter(pk=task_run.pk, state=TaskState.RUNNING).move(
            target,
            now=now,
            result=outcome.result,
            error=outcome.error,
            traceback=outcome.traceback,
            next_attempt_at=next_attempt_at,
            **extra,
        )
    )


def _keep_attempt(task_run: TaskRun, outcome: Outcome, now) -> None:
    # Kept once: a retried recording, or the scheduler's sweep that already declared
    # this attempt lost, may have stored it before.
    TaskAttempt.objects.get_or_create(
        task_run_id=task_run.pk,
        number=task_run.attempt,
        defaults={
            "state": outcome.state,
            "worker": task_run.worker,
            "started_at": task_run.started_at,
            "finished_at": now,
            "error": outcome.error,
            "traceback": outcome.traceback,
            "image_digest": task_run.image_digest,  # set by a container step as it starts
        },
    )
