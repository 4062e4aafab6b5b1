"""A success's downstream tasks, decided after its commit, without the run's lock.

A task's success is recorded with one UPDATE; then one more UPDATE queues each of its
downstream tasks that has no upstream task left to do. Of upstream tasks ending together,
the one that commits last finds the others finished, so no downstream task is missed; the
``state = 'pending'`` condition keeps one from being queued twice. Each end of a
1,000-task fan-in thus costs the statements of a leaf's end, where taking the run's lock
and reading the 1,000 upstream states made it quadratic.

Only ``all_success`` tasks are queued so: one still pending with every upstream task
finished had them all succeed, since a failed or skipped upstream task decides its
downstream tasks at once, under the run's lock (``runs.progress``). A task under another
trigger rule, its upstream tasks all finished, is decided under the run's lock. A decision
under the lock that leaves a task waiting for an upstream task in progress checks again
after its own commit (``check_after_commit``), for the same reason as here.

A worker that dies between its commit and this check leaves a task pending with nothing
in progress: the scheduler's sweep decides such runs again (``runs.recovery``).
"""

from collections.abc import Iterable
from functools import lru_cache

from django.db import connection, transaction

from workflows.tasks import TriggerRule

from .dispatch import send_after_commit
from .models import TaskRun, WorkflowRun
from .states import ACTIVE_TASK_STATES, TASK_MOVES, RunState, TaskState


def decide_pending(run_id: int, names: Iterable[str], now) -> bool:
    """Queue (or decide) those of the pending tasks ``names`` that wait for nothing any more.

    Reads committed data: call it after the commit that finished an upstream task.
    Returns whether one was queued or decided.
    """
    names = list(names)
    if not names:
        return False
    rows = _queue_finished(run_id, names, now)
    send_after_commit((pk, queue) for pk, _, rule, queue in rows if rule == TriggerRule.ALL_SUCCESS)
    other_rules = [name for _, name, rule, _ in rows if rule != TriggerRule.ALL_SUCCESS]
    if other_rules:
        _decide_under_lock(run_id, other_rules, now)
    return bool(rows)


def check_after_commit(run_id: int, names: Iterable[str], now) -> None:
    """After the current transaction commits, ``decide_pending`` these tasks."""
    names = list(names)
    if names:
        transaction.on_commit(lambda: decide_pending(run_id, names, now))


def _queue_finished(run_id: int, names: list[str], now) -> list[tuple[int, str, str, str]]:
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_queue_sql(connection.vendor, len(names)), [stamp, run_id, *names])
        return cursor.fetchall()


def _decide_under_lock(run_id: int, names: list[str], now) -> None:
    from .progress import advance_run  # runs.progress checks its waiting tasks with this module

    with transaction.atomic():
        run = WorkflowRun.objects.select_for_update().only("state", "workflow_id").get(pk=run_id)
        if run.state == RunState.RUNNING:
            advance_run(run, candidates=names, now=now)


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


@lru_cache(maxsize=64)
def _queue_sql(vendor: str, names: int) -> str:
    assert TaskState.PENDING in TASK_MOVES[TaskState.QUEUED], "update with the moves"
    task, run = _quote(TaskRun._meta.db_table), _quote(WorkflowRun._meta.db_table)
    active = ", ".join(f"'{state}'" for state in ACTIVE_TASK_STATES)
    # "u lists this task among its downstream tasks", the upstream task seen from its side:
    # the taskrun_active_by_run index gives the run's active rows, so nothing is passed in.
    if vendor == "postgresql":
        upstream_of_it = f"u.downstream @> jsonb_build_array({task}.task_name)"
    else:
        upstream_of_it = (
            f"EXISTS (SELECT 1 FROM json_each(u.downstream) "
            f"WHERE json_each.value = {task}.task_name)"
        )
    simple = f"trigger_rule = '{TriggerRule.ALL_SUCCESS}'"
    placeholders = ", ".join(["%s"] * names)
    return (
        f"UPDATE {task} SET state = CASE WHEN {simple} THEN '{TaskState.QUEUED}' ELSE state END, "
        f"queued_at = CASE WHEN {simple} THEN %s ELSE queued_at END "
        f"WHERE run_id = %s AND task_name IN ({placeholders}) AND state = '{TaskState.PENDING}' "
        f"AND EXISTS (SELECT 1 FROM {run} r WHERE r.id = {task}.run_id "
        f"AND r.state = '{RunState.RUNNING}') "
        f"AND NOT EXISTS (SELECT 1 FROM {task} u WHERE u.run_id = {task}.run_id "
        f"AND u.state IN ({active}) AND {upstream_of_it}) "
        f"RETURNING id, task_name, trigger_rule, queue"
    )
