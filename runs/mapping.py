"""Dynamic mapping at run time: a mapped step's instances, made and gathered.

When a worker takes a mapped step (``square.map(items)``), it reads the items and
makes one task run per item in one bulk INSERT (``square[0]``, ``square[1]``…,
queued and sent on commit); the step itself stays ``running`` meanwhile, its
``map_count`` set, with no worker holding it. Each instance is an ordinary task
run (its own attempts, retries, log). When the last instance ends, the step ends:
succeeded with the list of their results in order, or failed naming those that
did not succeed, and the steps after it are decided as after any task.
"""

from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from workflows.mapping import not_a_list, too_many_items
from workflows.references import ParamRef, resolve, walk
from workflows.tasks import TaskNode

from .dispatch import send_after_commit
from .execution.logs import TaskLogWriter
from .execution.outcome import Outcome, result_outcome
from .execution.reconnect import survives_outages
from .execution.statements import step_has_active_instances
from .map_insert import insert_instances
from .models import TaskRun, WorkflowRun
from .pools import release_slot
from .progress import advance_run
from .states import RunState, TaskState

FAILED_INSTANCES_NAMED = 5


def expand_map(task_run: TaskRun, node: TaskNode, params: dict) -> Outcome | None:
    """Make the instances of the mapped step ``task_run``; None once they are made.

    An Outcome when the step ends at once: a failure naming a value that is not a
    list or is too long, or success with ``[]`` for an empty list (no instance).
    """
    items = resolve(node.map_over, params=params, results=_items_results(task_run, node))
    if isinstance(items, tuple):
        items = list(items)
    task = node.definition.name
    if not isinstance(items, list):
        return _told(task_run, Outcome.failed(not_a_list(task, items, _source_words(node))))
    if len(items) > settings.BATON_MAX_MAP:
        return _told(task_run, Outcome.failed(too_many_items(task, len(items))))
    if not items:
        return _told(task_run, Outcome(TaskState.SUCCESS, result=[]), "No item: no instance.")
    if not _make_instances(task_run, items, timezone.now()):
        return Outcome.failed("The run stopped before the instances were made.", retryable=False)
    _log(
        task_run,
        f"Made {len(items):,} instances, {task_run.task_name}[0] to "
        f"{task_run.task_name}[{len(items) - 1}]; this step ends when they have.",
    )
    return None


def _told(task_run: TaskRun, outcome: Outcome, text: str = "") -> Outcome:
    outcome.retryable = False  # the same items would fail the same way
    _log(task_run, text or outcome.error)
    return outcome


def _log(task_run: TaskRun, text: str) -> None:
    writer = TaskLogWriter(task_run_id=task_run.pk, attempt=task_run.attempt)
    writer.write(text + "\n")
    survives_outages(writer.flush)(final=True)


def _items_results(task_run: TaskRun, node: TaskNode) -> dict:
    names = [leaf.name for leaf in walk(node.map_over) if isinstance(leaf, TaskNode)]
    rows = TaskRun.objects.filter(run_id=task_run.run_id, task_name__in=names)
    return dict(rows.values_list("task_name", "result"))


def _source_words(node: TaskNode) -> str:
    source = node.map_over
    if isinstance(source, TaskNode):
        return f"task '{source.name}'"
    if isinstance(source, ParamRef):
        return f"parameter '{source.name}'"
    return "its list"


@survives_outages
def _make_instances(task_run: TaskRun, items: list, now) -> bool:
    with transaction.atomic():
        # The run's lock first, as cancel does: a cancelled run makes no instance.
        run = WorkflowRun.objects.select_for_update().only("state").get(pk=task_run.run_id)
        parent = (
            TaskRun.objects.select_for_update()
            .filter(pk=task_run.pk, state=TaskState.RUNNING, attempt=task_run.attempt)
            .first()
        )
        if run.state != RunState.RUNNING or parent is None:
            return False
        if parent.map_count is None:
            # A first run of the step, or the step run again: a new set of instances.
            TaskRun.objects.filter(run_id=run.pk, map_parent=parent.task_name).delete()
            made = insert_instances(parent, items, now)
            # The instances take the step's pool; the step, running on, holds no slot of it.
            TaskRun.objects.filter(pk=parent.pk).update(map_count=len(made), pool="")
            send_after_commit((pk, parent.queue) for pk in made)
            if parent.pool:
                transaction.on_commit(partial(release_slot, parent.pool))
        # Otherwise its failed instances were set to run again: they are queued already.
        transaction.on_commit(partial(finish_map_if_done, run.pk, parent.task_name))
    return True


def after_instance_end(task_run: TaskRun) -> None:
    """Once the current transaction commits, end the mapped step if this was its last instance."""
    if task_run.map_parent:
        transaction.on_commit(partial(finish_map_if_done, task_run.run_id, task_run.map_parent))


@survives_outages
def finish_map_if_done(run_id: int, parent: str) -> bool:
    """End the mapped step ``parent`` when none of its instances is left to do.

    Safe to call at any time, from anywhere (the scheduler's sweep too): the step
    moves from running once, under the run's lock.
    """
    if step_has_active_instances(run_id, parent):
        return False
    now = timezone.now()
    with transaction.atomic():
        run = WorkflowRun.objects.select_for_update().only("state", "workflow_id").get(pk=run_id)
        step = (
            TaskRun.objects.filter(
                run_id=run_id, task_name=parent, state=TaskState.RUNNING, map_count__isnull=False
            )
            .only("id", "downstream")
            .first()
        )
        if step is None or step_has_active_instances(run_id, parent):
            return False
        outcome = _gathered(run_id, parent)
        moved = TaskRun.objects.filter(pk=step.pk, state=TaskState.RUNNING).move(
            outcome.state, now=now, result=outcome.result, error=outcome.error
        )
        if moved and run.state == RunState.RUNNING:
            advance_run(run, candidates=step.downstream, now=now)
    return bool(moved)


def _gathered(run_id: int, parent: str) -> Outcome:
    rows = list(
        TaskRun.objects.filter(run_id=run_id, map_parent=parent)
        .order_by("map_index")
        .values_list("map_index", "state", "result")
    )
    missed = [(index, state) for index, state, _result in rows if state != TaskState.SUCCESS]
    if not missed:
        return result_outcome([result for _index, _state, result in rows])
    named = ", ".join(f"{parent}[{i}] ({state})" for i, state in missed[:FAILED_INSTANCES_NAMED])
    more = len(missed) - FAILED_INSTANCES_NAMED
    more = f" and {more:,} more" if more > 0 else ""
    return Outcome.failed(
        f"{len(missed):,} of {len(rows):,} instances did not succeed: {named}{more}.",
        retryable=False,
    )


def finish_stuck_maps(limit: int) -> int:
    """Mapped steps whose instances all ended but which are still running (a lost check)."""
    steps = TaskRun.objects.filter(state=TaskState.RUNNING, map_count__isnull=False)
    pairs = list(steps.values_list("run_id", "task_name")[:limit])
    return sum(finish_map_if_done(run_id, name) for run_id, name in pairs)
