"""One attempt of one TaskRun, from claim to finish: what the Dramatiq actor runs."""

import logging
import os
import traceback
from dataclasses import dataclass

from django.utils import timezone

from workflows.context import TaskContext
from workflows.definition import WorkflowDefinition
from workflows.live import definition_for_version
from workflows.references import MissingSecret
from workflows.registry import get_registry
from workflows.tasks import TaskNode

from ..approvals import reject_undecided
from ..branching import followed_branch
from ..containers.refusal import refuse_without_docker
from ..containers.step import run_container_step
from ..dispatch import send_task_run
from ..mapping import expand_map
from ..models import TaskRun
from ..pools import PoolMissing, require_pool
from ..states import TaskState
from .finish import end_attempt
from .isolated_task import run_isolated_task
from .logs import TaskLogWriter, task_logger
from .outcome import Outcome
from .python_task import run_python_task
from .reconnect import survives_outages
from .shell_task import run_shell_task
from .statements import claim_task_run
from .step_environment import step_environment
from .waits import approval_outcome, as_check, check_outcome, timed_out_approval
from .watch import ACTIVE, ActiveTask

logger = logging.getLogger(__name__)


class NotRunnable(Exception):
    """The attempt cannot start (code missing, secret unset…); the message says what to fix."""


@dataclass
class Prepared:
    definition: WorkflowDefinition
    node: TaskNode
    params: dict
    results: dict
    secrets: list[str]


def run_task_run(task_run_id: int) -> str | None:
    """Claim the task run and run one attempt; returns the state recorded, None if not claimed."""
    task_run = claim(task_run_id)
    if task_run is None:
        return None
    if task_run.kind == "container" and refuse_without_docker(task_run):
        return None  # handed back for a worker with Docker
    options = node = None
    try:
        prepared = prepare(task_run)
        node, options = prepared.node, prepared.node.options
        if node.kind == "approval":
            outcome = approval_outcome(task_run, node, timezone.now())
        elif node.mapped and not task_run.map_parent:
            outcome = expand_map(task_run, node, prepared.params)
            if outcome is None:
                return TaskState.RUNNING  # its instances run now; the last one ends it
        else:
            outcome = followed_branch(task_run, node, execute(task_run, prepared))
    except NotRunnable as exc:
        _log_only(task_run, str(exc))
        outcome = Outcome.failed(str(exc), retryable=False)
    except Exception as exc:  # Baton's own failure: record it rather than leave it running
        logger.exception("Task run %s could not be run", task_run_id)
        message = f"Baton could not run this task: {type(exc).__name__}: {exc}"
        outcome = Outcome.failed(message, traceback=traceback.format_exc(), retryable=False)
    if node is not None and timed_out_approval(node, outcome):
        return reject_undecided(task_run, outcome)
    return end_attempt(task_run, outcome, options=options)


def claim(task_run_id: int) -> TaskRun | None:
    """Claim the task run, or re-send the message of a retry that came early."""
    task_run = claim_task_run(task_run_id)
    if task_run is None:
        _resend_early_retry(task_run_id, timezone.now())
    return task_run


@survives_outages
def _resend_early_retry(task_run_id: int, now) -> None:
    # A delayed message may arrive before the retry (or a wait's check) is due by this
    # machine's clock.
    row = (
        TaskRun.objects.filter(
            pk=task_run_id,
            state__in=(TaskState.UP_FOR_RETRY, TaskState.WAITING),
            next_attempt_at__gt=now,
        )
        .values_list("next_attempt_at", "queue")
        .first()
    )
    if row is not None:
        send_task_run(task_run_id, row[1], delay=row[0] - now)


@survives_outages
def prepare(task_run: TaskRun) -> Prepared:
    """The task's code, parameter values, upstream results and secret values."""
    run = task_run.run_info
    current = get_registry().get(run.workflow)
    definition = definition_for_version(
        run.workflow, run.version_id, run.code_hash, current=current
    )
    # A map instance (square[3]) runs the code of its mapped step (square).
    step = task_run.map_parent or task_run.task_name
    node = definition.tasks.get(step) if definition else None
    if node is None and definition is None and current is not None:
        raise NotRunnable(
            f"The code of workflow '{run.workflow}' this run was started on (version "
            f"{run.code_hash[:8]}) is not to be had any more: start a new run."
        )
    if node is None:
        raise NotRunnable(
            f"Task '{task_run.task_name}' of workflow '{run.workflow}' is not in the code "
            f"this worker loaded: deploy the same code to the web server and the workers."
        )
    try:
        secrets = [secret.resolve() for secret in node.secrets()]
        if task_run.pool:
            require_pool(task_run.pool, file=node.file, line=node.line)
    except (MissingSecret, PoolMissing) as exc:
        raise NotRunnable(str(exc)) from None
    return Prepared(
        definition=definition,
        node=node,
        params=definition.parameters.load(run.parameters),
        results=_upstream_results(task_run, node),
        secrets=secrets,
    )


def _upstream_results(task_run: TaskRun, node: TaskNode) -> dict:
    names = {leaf.name for leaf in node.argument_references() if isinstance(leaf, TaskNode)}
    if not names:
        return {}
    rows = TaskRun.objects.filter(run_id=task_run.run_id, task_name__in=names)
    return dict(rows.values_list("task_name", "result"))


def execute(task_run: TaskRun, prepared: Prepared) -> Outcome:
    """Run the attempt, registered with the watch thread (timeout, cancel, logs, heartbeat)."""
    node = prepared.node
    writer = TaskLogWriter(
        task_run_id=task_run.pk, attempt=task_run.attempt, secrets=prepared.secrets
    )
    timeout = node.options.timeout.total_seconds() if node.options.timeout else None
    active = ActiveTask(task_run_id=task_run.pk, kind=node.kind, writer=writer, timeout=timeout)
    ACTIVE.add(active)
    try:
        if node.kind == "container":
            return run_container_step(
                task_run, node, params=prepared.params, results=prepared.results, active=active
            )
        if node.kind == "shell":
            argv, env, cwd = node.resolve_command(params=prepared.params, results=prepared.results)
            environment = shell_environment(task_run, env, params=prepared.params)
            return run_shell_task(argv, env=environment, cwd=cwd, active=active)
        args, kwargs = node.resolve_call(params=prepared.params, results=prepared.results)
        if task_run.map_parent:
            kwargs[node.map_argument] = task_run.map_item
        context = TaskContext(
            run_id=task_run.run_id,
            workflow=task_run.run_info.workflow,
            task=task_run.task_name,
            parameters=prepared.params,
            logical_date=task_run.run_info.logical_date,
            attempt=task_run.attempt,
            logger=task_logger(task_run.run_info.workflow, task_run.task_name),
        )
        if node.isolated:
            outcome = run_isolated_task(node, args, kwargs, context=context, active=active)
        else:
            fn = node.definition.fn if node.wait is None else as_check(node.definition.fn)
            outcome = run_python_task(fn, args, kwargs, context=context, active=active)
        return (
            outcome if node.wait is None else check_outcome(task_run, node, outcome, timezone.now())
        )
    finally:
        ACTIVE.remove(active)
        survives_outages(writer.flush)(final=True)


def shell_environment(task_run: TaskRun, task_env: dict, *, params: dict) -> dict:
    """The worker's environment, then what every step gets (``step_environment``)."""
    return {**os.environ, **step_environment(task_run, task_env, params=params)}


def _log_only(task_run: TaskRun, message: str) -> None:
    writer = TaskLogWriter(task_run_id=task_run.pk, attempt=task_run.attempt)
    writer.write(message + "\n")
    writer.flush(final=True)
