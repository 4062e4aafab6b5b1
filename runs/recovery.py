"""The scheduler's sweeps: repair what a lost message or a dead worker left behind.

Each sweep is small, bounded, and safe to run from any process at any time:
rows are claimed with conditional UPDATEs, and a worker claims a TaskRun the
same way, so a message sent twice never runs a task twice. Each repair is
written to the audit trail (actor ``system``) in the transaction that makes it.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q

from audit.recorder import SYSTEM, Verb, record_event
from workflows.live import definition_for_version
from workflows.registry import get_registry

from .containers.cleanup import remove_leftover_containers
from .dispatch import send_after_commit
from .execution.finish import end_attempt
from .execution.outcome import Outcome
from .mapping import finish_stuck_maps
from .models import TaskRun, WorkflowRun
from .notifications import events as notifications
from .notifications.slow import notify_slow_runs
from .pools import promote_waiting_everywhere
from .progress import advance_run, start_waiting_runs
from .states import ACTIVE_TASK_STATES, RunState, TaskState

logger = logging.getLogger(__name__)

BATCH = 500
# A retry's own delayed message normally claims it; the sweep steps in a bit later.
RETRY_GRACE = timedelta(seconds=2)
# The decision after a task's end takes milliseconds; a run left undecided longer is stalled.
STALL_GRACE = timedelta(seconds=5)


def sweep(now: datetime, *, heartbeats_since: datetime | None = None) -> dict[str, int]:
    """Run every sweep once; returns how many rows each one repaired.

    ``heartbeats_since``: when the database answered again after an outage, which
    stopped the workers' heartbeats as well (see ``recover_dead_workers``).
    """
    done = {
        "retries_sent": send_due_retries(now),
        "queued_resent": resend_stale_queued(now),
        "checks_resent": resend_overdue_checks(now),
        "pool_slots_filled": promote_waiting_everywhere(),
        "dead_workers": recover_dead_workers(now, heartbeats_since=heartbeats_since),
        # After dead_workers: the containers of the attempts it just ended go too.
        "containers_removed": remove_leftover_containers(),
        "runs_resumed": resume_stalled_runs(now),
        "runs_timed_out": fail_overdue_runs(now),
        "runs_started": start_waiting(now),
        "slow_runs_told": notify_slow_runs(now),
        "maps_finished": finish_stuck_maps(BATCH),
    }
    if any(done.values()):
        logger.info("Recovery: %s", ", ".join(f"{k}={v}" for k, v in done.items() if v))
    return done


def send_due_retries(now: datetime) -> int:
    """up_for_retry rows whose delay has passed → queued, and sent."""
    due = TaskRun.objects.filter(
        state=TaskState.UP_FOR_RETRY, next_attempt_at__lte=now - RETRY_GRACE
    ).select_related("run__workflow")[:BATCH]
    sent = 0
    for task_run in due:
        with transaction.atomic():
            if TaskRun.objects.filter(pk=task_run.pk).move(TaskState.QUEUED, now=now):
                send_after_commit([(task_run.pk, task_run.queue)])
                _record(Verb.TASK_RETRY_SENT, task_run, attempt=task_run.attempt + 1)
                sent += 1
    return sent


def resend_overdue_checks(now: datetime) -> int:
    """waiting rows whose check (or approval deadline) is long overdue: → queued, and sent.

    Their own delayed message normally claims them; one overdue by a whole
    BATON_QUEUED_TIMEOUT was lost (a busy worker takes a due check within it).
    """
    cutoff = now - timedelta(seconds=settings.BATON_QUEUED_TIMEOUT)
    overdue = TaskRun.objects.filter(
        state=TaskState.WAITING, next_attempt_at__lte=cutoff
    ).select_related("run__workflow")[:BATCH]
    sent = 0
    for task_run in overdue:
        with transaction.atomic():
            moved = TaskRun.objects.filter(pk=task_run.pk, state=TaskState.WAITING).move(
                TaskState.QUEUED, now=now
            )
            if moved:
                send_after_commit([(task_run.pk, task_run.queue)])
                _record(Verb.TASK_RESENT, task_run, due_at=task_run.next_attempt_at)
                sent += 1
    return sent


def resend_stale_queued(now: datetime) -> int:
    """queued rows older than BATON_QUEUED_TIMEOUT lost their message: send it again."""
    cutoff = now - timedelta(seconds=settings.BATON_QUEUED_TIMEOUT)
    stale = TaskRun.objects.filter(state=TaskState.QUEUED, queued_at__lt=cutoff).select_related(
        "run__workflow"
    )[:BATCH]
    sent = 0
    for task_run in stale:
        with transaction.atomic():
            # Restart the clock, so the next sweep waits a full timeout again.
            claimed = TaskRun.objects.filter(
                pk=task_run.pk, state=TaskState.QUEUED, queued_at=task_run.queued_at
            ).update(queued_at=now)
            if claimed:
                send_after_commit([(task_run.pk, task_run.queue)])
                _record(Verb.TASK_RESENT, task_run, queued_at=task_run.queued_at)
                sent += claimed
    return sent


def recover_dead_workers(now: datetime, *, heartbeats_since: datetime | None = None) -> int:
    """running rows whose worker went silent: retried if attempts are left, else failed.

    Not within a heartbeat timeout of ``heartbeats_since`` (the end of a database
    outage): every heartbeat is stale then, the live workers' too.
    """
    timeout = timedelta(seconds=settings.BATON_HEARTBEAT_TIMEOUT)
    if heartbeats_since is not None and now - heartbeats_since < timeout:
        return 0
    cutoff = now - timeout
    silent = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    # A mapped step whose instances run has no worker: runs.mapping ends it.
    silent &= Q(map_count__isnull=True)
    lost = TaskRun.objects.filter(silent, state=TaskState.RUNNING).select_related("run__workflow")[
        :BATCH
    ]
    recovered = 0
    for task_run in lost:
        outcome = Outcome.failed(
            f"The worker running this task ({task_run.worker or 'unknown'}) stopped "
            f"answering: no heartbeat for over {settings.BATON_HEARTBEAT_TIMEOUT} s. "
            f"It probably crashed or was killed.",
        )
        with transaction.atomic():
            state = end_attempt(task_run, outcome, options=_options_of(task_run))
            if state is not None:
                _record(
                    Verb.TASK_RECOVERED,
                    task_run,
                    worker=task_run.worker,
                    attempt=task_run.attempt,
                    heartbeat_at=task_run.heartbeat_at,
                    state=state,
                )
                recovered += 1
    return recovered


def _record(verb: str, task_run: TaskRun, **details) -> None:
    record_event(
        verb=verb,
        actor_label=SYSTEM,
        obj=task_run,
        workflow=task_run.run.workflow,
        details=details,
    )


def _options_of(task_run: TaskRun):
    run = task_run.run
    current = get_registry().get(run.workflow.slug)
    code_hash = run.version.code_hash if run.version_id else ""
    # The retries of the code the run is pinned to, not of a newer commit's.
    definition = definition_for_version(
        run.workflow.slug, run.version_id, code_hash, current=current
    )
    node = definition and definition.tasks.get(task_run.map_parent or task_run.task_name)
    return node.options if node else None


def resume_stalled_runs(now: datetime) -> int:
    """Running runs with tasks still pending and none in progress: decided again.

    Left so when a worker died between a task's commit and the decision that follows
    it without the run's lock (runs.downstream), or the run's end (a leaf's last task).
    """
    # A few index probes per running run (the active-task index), however many tasks it has:
    # grouping the active rows of every running run cost a tick 19 ms at 100 runs of 1,000.
    in_progress = [state for state in ACTIVE_TASK_STATES if state != TaskState.PENDING]
    stalled = (
        WorkflowRun.objects.filter(state=RunState.RUNNING)
        .exclude(Exists(TaskRun.objects.filter(run=OuterRef("pk"), state__in=in_progress)))
        .values_list("pk", flat=True)
    )
    return sum(_resume(run_id, now) for run_id in stalled[:BATCH])


def _resume(run_id: int, now: datetime) -> int:
    with transaction.atomic():
        run = (
            WorkflowRun.objects.select_for_update(of=("self",))
            .select_related("workflow")
            .get(pk=run_id)
        )
        last_end = run.task_runs.aggregate(last=Max("finished_at"))["last"]
        if run.state != RunState.RUNNING or (last_end and now - last_end < STALL_GRACE):
            return 0  # a task that just ended is deciding what follows it
        pending = list(run.task_runs.filter(state=TaskState.PENDING).values_list("pk", flat=True))
        advance_run(run, candidates=None, now=now)
        decided = run.task_runs.filter(pk__in=pending).exclude(state=TaskState.PENDING).count()
        if not decided and run.state == RunState.RUNNING:
            return 0
        record_event(
            verb=Verb.RUN_RESUMED,
            actor_label=SYSTEM,
            obj=run,
            workflow=run.workflow,
            details={"tasks_decided": decided, "state": run.state},
        )
    return 1


def fail_overdue_runs(now: datetime) -> int:
    """Running runs over their workflow's timeout: failed, and their tasks stopped."""
    # Few runs are running at once (max_active_runs), so the comparison is done here
    # rather than with duration arithmetic that differs between databases.
    running = WorkflowRun.objects.filter(
        state=RunState.RUNNING, workflow__timeout__isnull=False, started_at__isnull=False
    ).select_related("workflow")
    overdue = [run for run in running if now - run.started_at > run.workflow.timeout]
    return sum(_time_out(run, now) for run in overdue[:BATCH])


def _time_out(run: WorkflowRun, now: datetime) -> int:
    note = f"Timed out: the workflow may run for at most {run.workflow.timeout}."
    with transaction.atomic():
        if not WorkflowRun.objects.filter(pk=run.pk).move(RunState.FAILED, now=now, note=note):
            return 0
        # Running tasks see `cancelled` and are stopped by their worker.
        active = ACTIVE_TASK_STATES
        cancelled = TaskRun.objects.filter(run=run, state__in=active).move(
            TaskState.CANCELLED, now=now, error=note
        )
        start_waiting_runs(run.workflow_id, now=now)
        notifications.run_ended(run, RunState.FAILED, now=now)
        record_event(
            verb=Verb.RUN_TIMED_OUT,
            actor_label=SYSTEM,
            obj=run,
            workflow=run.workflow,
            details={"timeout": str(run.workflow.timeout), "tasks_cancelled": cancelled},
        )
    return 1


def start_waiting(now: datetime) -> int:
    """Queued runs whose workflow has a free slot (normally started when a run ends)."""
    workflow_ids = (
        WorkflowRun.objects.filter(state=RunState.QUEUED)
        .values_list("workflow_id", flat=True)
        .distinct()[:BATCH]
    )
    started = 0
    for workflow_id in workflow_ids:
        with transaction.atomic():
            started += start_waiting_runs(workflow_id, now=now)
    return started
