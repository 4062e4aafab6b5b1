"""The states of runs and task runs, and the legal moves between them, in one place.

TaskRun:     pending → queued → running → success | failed | up_for_retry → queued …
             plus upstream_failed, skipped (decided by trigger rules) and cancelled;
             waiting: a ready task that holds no worker thread while it waits for a
             pool slot, the next check of a wait, or an approval decision.
WorkflowRun: queued → running → success | failed | cancelled.

Every move is one conditional UPDATE (``WHERE state IN <allowed sources>``), so two
processes racing for the same row cannot both win: see ``TaskRun.objects.move``.
"""

from django.db import models


class TaskState(models.TextChoices):
    PENDING = "pending", "pending"
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCESS = "success", "success"
    FAILED = "failed", "failed"
    UP_FOR_RETRY = "up_for_retry", "up for retry"
    UPSTREAM_FAILED = "upstream_failed", "upstream failed"
    SKIPPED = "skipped", "skipped"
    CANCELLED = "cancelled", "cancelled"
    WAITING = "waiting", "waiting"


class RunState(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCESS = "success", "success"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


T = TaskState
R = RunState

ACTIVE_TASK_STATES = (T.PENDING, T.QUEUED, T.RUNNING, T.UP_FOR_RETRY, T.WAITING)
FINISHED_TASK_STATES = (T.SUCCESS, T.FAILED, T.UPSTREAM_FAILED, T.SKIPPED, T.CANCELLED)
FAILED_TASK_STATES = (T.FAILED, T.UPSTREAM_FAILED, T.CANCELLED)
ACTIVE_RUN_STATES = (R.QUEUED, R.RUNNING)
FINISHED_RUN_STATES = (R.SUCCESS, R.FAILED, R.CANCELLED)
# "Retry the failed tasks" applies to a run that ended without succeeding.
RETRYABLE_RUN_STATES = (R.FAILED, R.CANCELLED)
# What a person may mark a task as.
MARK_STATES = (T.SUCCESS, T.FAILED)

# target state → the states it may be reached from.
TASK_MOVES: dict[str, tuple[str, ...]] = {
    # waiting → queued: a pool slot freed, or the sweep re-sends a due check.
    T.QUEUED: (T.PENDING, T.UP_FOR_RETRY, T.WAITING),
    # A retry's delayed message claims its due row directly (up_for_retry → running);
    # the scheduler's sweep takes the other path (up_for_retry → queued). A wait's
    # next check (or an approval's deadline) is claimed the same way from waiting.
    T.RUNNING: (T.QUEUED, T.UP_FOR_RETRY, T.WAITING),
    # A worker ends its own attempt (from running only); a user may mark a task
    # success or failed from any other state.
    T.SUCCESS: tuple(s for s in T if s != T.SUCCESS),
    T.FAILED: tuple(s for s in T if s != T.FAILED),
    T.UP_FOR_RETRY: (T.RUNNING,),
    # running → waiting: a check said "not yet", or an approval step opened; a claim
    # that finds its pool full parks the task instead of running it.
    T.WAITING: (T.RUNNING, T.QUEUED, T.UP_FOR_RETRY, T.WAITING),
    T.UPSTREAM_FAILED: (T.PENDING,),
    T.SKIPPED: (T.PENDING,),
    T.CANCELLED: (T.PENDING, T.QUEUED, T.RUNNING, T.UP_FOR_RETRY, T.WAITING),
    # "Retry": a finished task goes back to the start of the line.
    T.PENDING: (T.FAILED, T.UPSTREAM_FAILED, T.SKIPPED, T.CANCELLED, T.SUCCESS),
}

RUN_MOVES: dict[str, tuple[str, ...]] = {
    # A finished run re-opened by a retry waits for a slot like a new one.
    R.QUEUED: (R.SUCCESS, R.FAILED, R.CANCELLED),
    R.RUNNING: (R.QUEUED, R.FAILED, R.CANCELLED),
    R.SUCCESS: (R.RUNNING, R.FAILED),  # failed → success: its failed task was marked success
    R.FAILED: (R.RUNNING, R.SUCCESS),  # success → failed: a task was marked failed
    R.CANCELLED: (R.QUEUED, R.RUNNING),
}

# The timestamp each move records.
TASK_TIMESTAMPS = {
    T.QUEUED: "queued_at",
    T.RUNNING: "started_at",
    T.UP_FOR_RETRY: "finished_at",
    **{state: "finished_at" for state in FINISHED_TASK_STATES},
}
RUN_TIMESTAMPS = {
    R.RUNNING: "started_at",
    **{state: "finished_at" for state in FINISHED_RUN_STATES},
}
