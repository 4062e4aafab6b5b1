"""The actions on runs: start, cancel, retry, mark. Pages, API, admin, scheduler and commands
call these.

Each action is one function doing its whole change, and writing its audit
event, in one transaction. People's actions on runs go through here only; the
engine's own moves (a worker claiming and ending an attempt, the scheduler's
recovery sweeps) are in ``runs.progress``, ``runs.execution`` and
``runs.recovery``, and every one of them is a conditional UPDATE of
``runs.states``' legal moves.
"""

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.recorder import SCHEDULER, Verb, record_event
from workflows.definition import WorkflowDefinition
from workflows.models import Workflow
from workflows.registry import get_registry
from workflows.versions import version_for

from .execution.waits import waiting_fields
from .mapping import after_instance_end
from .models import TaskAttempt, TaskRun, WorkflowRun
from .notifications import events as notifications
from .progress import advance_run, free_slots, start_run, start_waiting_runs
from .run_start import start_new_run
from .states import FAILED_TASK_STATES, MARK_STATES, RunState, TaskState
from .task_run_insert import insert_task_runs


class WorkflowNotRunnable(Exception):
    """The workflow cannot start a run (removed from code, not loaded, paused…)."""


class WorkflowPaused(WorkflowNotRunnable):
    """A schedule came due on a paused workflow: the slot passes without a run."""


class ActionRefused(Exception):
    """The run or task is in a state where this action makes no sense; the message says why."""


def runnable_definition(workflow: Workflow) -> WorkflowDefinition:
    """The code of ``workflow``, or ``WorkflowNotRunnable`` saying why it cannot run."""
    if not workflow.is_active:
        raise WorkflowNotRunnable(
            _(
                "Workflow '%(workflow)s' was removed from the code: its past runs are kept, "
                "but it cannot run any more."
            )
            % {"workflow": workflow.slug}
        )
    definition = get_registry().get(workflow.slug)
    if definition is None:
        raise WorkflowNotRunnable(
            _(
                "Workflow '%(workflow)s' is not in the code this server loaded: check the "
                "workflow load errors, then deploy and run `manage.py sync_workflows`."
            )
            % {"workflow": workflow.slug}
        )
    return definition


def trigger_run(
    *,
    workflow: Workflow,
    parameters: Mapping,
    started_by=None,
    trigger: str = WorkflowRun.Trigger.MANUAL,
    schedule=None,
    logical_date: datetime | None = None,
    data_interval: tuple[datetime, datetime] | None = None,
    note: str = "",
    notify_starter: bool = False,
) -> WorkflowRun:
    """Start a run: validate ``parameters``, create the run and its task runs, queue the roots.

    Raises ``ParameterErrors`` (field → messages) or ``WorkflowNotRunnable``,
    creating nothing; ``IntegrityError`` when ``schedule`` already started the
    run of this ``logical_date``. When the workflow already has ``max_active_runs`` runs
    running, the new run waits as ``queued`` and starts when one ends.

    The paused rule lives here and only here: a paused workflow's schedule
    starts no run (``WorkflowPaused``); a person may still start one by hand,
    from the page, the API or the command line, and a backfill they ask for
    runs too (like Airflow's manual trigger of a paused DAG).

    ``notify_starter``: "Notify me when it ends", for ``started_by``.
    """
    definition = runnable_definition(workflow)
    values = definition.parameters.validate(parameters)
    start, end = data_interval or (None, None)
    now = timezone.now()
    with transaction.atomic():
        # The workflow row lock serialises numbering and the max_active_runs count.
        locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
        if trigger == WorkflowRun.Trigger.SCHEDULE and locked.is_paused:
            # Read under the lock: a pause pressed as the slot comes due wins.
            raise WorkflowPaused(
                _("Workflow '%(workflow)s' is paused: it starts no scheduled run.")
                % {"workflow": workflow.slug}
            )
        run = WorkflowRun.objects.create(
            workflow=locked,
            version=version_for(locked, definition),  # all its tasks run this code
            number=_next_number(locked),
            parameters=definition.parameters.dump(values),
            trigger=trigger,
            schedule=schedule,
            started_by=started_by,
            logical_date=logical_date,
            data_interval_start=start,
            data_interval_end=end,
            note=note,
            created_at=now,
        )
        starts = free_slots(locked) > 0
        queued_roots = insert_task_runs(
            run, definition, _task_runs_of, queue_roots_at=now if starts else None
        )
        if notify_starter and started_by is not None:
            notifications.subscribe(run, started_by)  # before it can end
        if starts:
            start_new_run(run, queued_roots=queued_roots, now=now)
        record_event(
            verb=Verb.RUN_TRIGGERED,
            actor=started_by,
            actor_label=SCHEDULER if trigger == WorkflowRun.Trigger.SCHEDULE else None,
            obj=run,
            workflow=locked,
            details={
                "parameters": run.parameters,
                "trigger": trigger,
                "schedule": str(schedule) if schedule else None,
                "logical_date": logical_date,
                "note": note,
            },
        )
    if queued_roots is None:  # started the usual way, which may have ended it already
        run.refresh_from_db(fields=["state", "started_at"])
    return run


def _next_number(workflow: Workflow) -> int:
    last = WorkflowRun.objects.filter(workflow=workflow).aggregate(last=Max("number"))["last"]
    return (last or 0) + 1


def _task_runs_of(run: WorkflowRun, definition: WorkflowDefinition) -> list[TaskRun]:
    downstream = defaultdict(list)
    for node in definition.tasks.values():
        for name in node.upstream:
            downstream[name].append(node.name)
    return [
        TaskRun(
            run=run,
            task_name=node.name,
            kind=node.kind,
            position=position,
            upstream=list(node.upstream),
            downstream=downstream[node.name],
            trigger_rule=str(node.options.trigger_rule),
            group=node.group,
            max_attempts=node.options.retries + 1,
            queue=node.options.queue,
            **waiting_fields(node),
        )
        for position, node in enumerate(definition.tasks.values())
    ]


def cancel_run(*, run: WorkflowRun, user=None, reason: str = "") -> bool:
    """Cancel a queued or running run; False when it had already finished.

    Tasks that have not started are cancelled at once; running ones are
    interrupted by their worker within a second or two and end ``cancelled``.
    The run keeps who cancelled it and the optional ``reason``.
    """
    now = timezone.now()
    reason = reason.strip()
    with transaction.atomic():
        locked = WorkflowRun.objects.select_for_update().get(pk=run.pk)
        cancelled = WorkflowRun.objects.filter(pk=run.pk).move(
            RunState.CANCELLED,
            now=now,
            cancelled_by=user if user is not None and user.is_authenticated else None,
            cancel_reason=reason,
        )
        if not cancelled:
            return False
        not_started = (
            TaskState.PENDING,
            TaskState.QUEUED,
            TaskState.UP_FOR_RETRY,
            TaskState.WAITING,
        )
        TaskRun.objects.filter(run=run, state__in=not_started).move(TaskState.CANCELLED, now=now)
        # A mapped step whose instances run has no worker of its own to stop it.
        TaskRun.objects.filter(run=run, state=TaskState.RUNNING, map_count__isnull=False).move(
            TaskState.CANCELLED, now=now
        )
        if locked.state == RunState.RUNNING:
            start_waiting_runs(run.workflow_id, now=now)
        notifications.run_ended(locked, RunState.CANCELLED, now=now)
        record_event(
            verb=Verb.RUN_CANCELLED,
            actor=user,
            obj=locked,
            workflow=locked.workflow,
            details={"previous_state": locked.state, **({"reason": reason} if reason else {})},
        )
    run.refresh_from_db()
    return True


def retry_failed_tasks(*, run: WorkflowRun, user=None) -> int:
    """Run the failed, cancelled and not-run tasks of a finished run again; returns how many.

    Tasks that succeeded keep their results; each retried task gets a fresh
    budget of retries, and its earlier attempts and logs stay visible.
    """
    with transaction.atomic():
        locked = WorkflowRun.objects.select_for_update().get(pk=run.pk)
        if not locked.can_retry_failed:
            raise ActionRefused(
                _(
                    "Run #%(number)s is %(state)s: only a failed or "
                    "cancelled run can retry its failed tasks."
                )
                % {"number": locked.number, "state": locked.get_state_display()}
            )
        definition = runnable_definition(locked.workflow)
        names = TaskRun.objects.filter(
            run=locked, state__in=(*FAILED_TASK_STATES, TaskState.SKIPPED)
        ).values_list("task_name", flat=True)
        names = list(names)
        count = _reset_tasks(locked, definition, names)
        _reopen(locked)
        record_event(
            verb=Verb.RUN_RETRIED,
            actor=user,
            obj=locked,
            workflow=locked.workflow,
            details={"tasks": names},
        )
    run.refresh_from_db()
    return count


def retry_task(*, task_run: TaskRun, user=None) -> int:
    """Run a finished task again, with every finished task downstream of it; returns how many."""
    with transaction.atomic():
        run = WorkflowRun.objects.select_for_update().get(pk=task_run.run_id)
        task = TaskRun.objects.get(pk=task_run.pk)
        if not task.can_retry:
            raise ActionRefused(
                _("Task '%(task)s' is %(state)s: only a finished task can be run again.")
                % {"task": task.task_name, "state": task.get_state_display()}
            )
        definition = runnable_definition(run.workflow)
        if task.map_parent:  # one instance again: then its mapped step and what follows it
            names = [task.task_name, *_with_downstream(run, task.map_parent)]
            count = _reset_tasks(run, definition, names)
        else:  # a mapped step among these makes its instances anew
            count = _reset_tasks(run, definition, _with_downstream(run, task.task_name), remap=True)
        if run.state == RunState.RUNNING:
            advance_run(run, candidates=None, now=timezone.now())
        elif run.state != RunState.QUEUED:
            _reopen(run)
        record_event(
            verb=Verb.TASK_RETRIED,
            actor=user,
            obj=task,
            workflow=run.workflow,
            details={"previous_state": task.state, "tasks_run_again": count},
        )
    task_run.refresh_from_db()
    return count


def _with_downstream(run: WorkflowRun, name: str) -> list[str]:
    graph = dict(TaskRun.objects.filter(run=run).values_list("task_name", "downstream"))
    names, todo = [], [name]
    while todo:
        current = todo.pop()
        if current not in names:
            names.append(current)
            todo.extend(graph[current])
    return names


def _reset_tasks(
    run: WorkflowRun, definition: WorkflowDefinition, names: list[str], *, remap: bool = False
) -> int:
    """Finished tasks back to pending, each with a new budget of retries after its attempts.

    A mapped step keeps its instances (those reset here run again), unless ``remap``.
    """
    by_retries = defaultdict(list)
    for name in names:
        # A map instance, square[3], has the retries of its step (no step name holds a '[').
        node = definition.tasks.get(name.partition("[")[0])
        by_retries[node.options.retries if node else 0].append(name)
    count = 0
    for retries, group in by_retries.items():
        for task in TaskRun.objects.filter(run=run, task_name__in=group):
            if task.state == TaskState.SUCCESS and task.attempt:
                _keep_successful_attempt(task)
            count += TaskRun.objects.filter(pk=task.pk).move(
                TaskState.PENDING,
                max_attempts=task.attempt + retries + 1,
                finished_at=None,
                next_attempt_at=None,
                wait_deadline=None,
                error="",
                traceback="",
                **({"map_count": None} if remap else {}),
            )
    return count


def _keep_successful_attempt(task: TaskRun) -> None:
    # Failed attempts are kept when they end; a success only when it is run again.
    TaskAttempt.objects.get_or_create(
        task_run=task,
        number=task.attempt,
        defaults={
            "state": task.state,
            "worker": task.worker,
            "started_at": task.started_at,
            "finished_at": task.finished_at,
        },
    )


def _reopen(run: WorkflowRun) -> None:
    """A finished run with tasks to do again waits for a slot like a new run."""
    now = timezone.now()
    WorkflowRun.objects.filter(pk=run.pk).move(RunState.QUEUED, finished_at=None)
    run.state = RunState.QUEUED
    workflow = Workflow.objects.select_for_update().get(pk=run.workflow_id)
    if free_slots(workflow) > 0:
        start_run(run, now=now)


def mark_task(*, task_run: TaskRun, state: str, reason: str = "", user=None) -> bool:
    """Set a task's state by hand (success or failed); False when it already had that state.

    In a running run the downstream tasks proceed as if the task had ended so;
    in a finished run, the run's own outcome follows (use "retry failed tasks"
    to run what had not run). A running attempt is interrupted.
    """
    if state not in MARK_STATES:
        raise ActionRefused(
            _("A task can be marked success or failed, not '%(state)s'.") % {"state": state}
        )
    if task_run.kind == "approval" and state == TaskState.SUCCESS:
        # Four eyes: only an approver other than the run's starter approves (runs.approvals).
        raise ActionRefused(
            _("An approval step is approved by its approvers, with Approve on the run page.")
        )
    who = getattr(user, "username", "") or "a user"
    note = f"Marked {state} by {who}" + (f": {reason}" if reason else ".")
    now = timezone.now()
    with transaction.atomic():
        run = WorkflowRun.objects.select_for_update().get(pk=task_run.run_id)
        if not TaskRun.objects.filter(pk=task_run.pk).move(state, now=now, note=note):
            return False
        after_instance_end(task_run)
        if run.state == RunState.RUNNING:
            advance_run(run, candidates=task_run.downstream, now=now)
        elif run.state in (RunState.SUCCESS, RunState.FAILED):
            _recompute_outcome(run, now=now)
        record_event(
            verb=Verb.TASK_MARKED,
            actor=user,
            obj=task_run,
            workflow=run.workflow,
            details={"state": state, "reason": reason},
        )
    task_run.refresh_from_db()
    return True


def _recompute_outcome(run: WorkflowRun, *, now) -> None:
    failed = TaskRun.objects.filter(run=run, state__in=FAILED_TASK_STATES).exists()
    target = RunState.FAILED if failed else RunState.SUCCESS
    if target != run.state:
        WorkflowRun.objects.filter(pk=run.pk).move(target, now=now)


__all__ = [
    "ActionRefused",
    "WorkflowNotRunnable",
    "WorkflowPaused",
    "cancel_run",
    "mark_task",
    "retry_failed_tasks",
    "retry_task",
    "trigger_run",
]
