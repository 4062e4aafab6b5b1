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

On PostgreSQL the success and that UPDATE are one statement (``record_success_and_queue``):
a chain's next task is queued with its predecessor's success, in one round trip. Seeing
the data as it was before the statement, it may find another upstream task still running
that is ending in the same instant: what it did not queue is checked again after it.

A worker that dies between its commit and this check leaves a task pending with nothing
in progress: the scheduler's sweep decides such runs again (``runs.recovery``).
"""

from collections.abc import Iterable
from functools import lru_cache

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from workflows.tasks import TriggerRule

from .dispatch import send_after_commit
from .execution.prepared import prepared_cursor
from .execution.statements import record_success, success_statement
from .models import TaskRun, WorkflowRun
from .states import ACTIVE_TASK_STATES, TASK_MOVES, RunState, TaskState


def record_success_and_queue(task_run: TaskRun, result, now) -> tuple[bool, list[str]]:
    """Record ``task_run``'s success (``record_success``) and, on PostgreSQL, in the same
    statement queue its downstream tasks that have no other upstream task left to do.

    Returns whether the success was recorded, and the downstream tasks left to
    ``decide_pending`` once it has committed.
    """
    db = connections[DEFAULT_DB_ALIAS]
    names = list(task_run.downstream)
    if db.vendor != "postgresql" or not names:
        return record_success(task_run, result, now), names
    rows = _succeed_and_queue(db, task_run, result, now)
    decided = _act_on([row[1:] for row in rows if row[0]], task_run.run_id, now)
    recorded = any(not row[0] for row in rows)
    return recorded, [name for name in names if name not in decided]


def _succeed_and_queue(db, task_run: TaskRun, result, now) -> list[tuple]:
    success_sql, success_params = success_statement(db, task_run, result, now)
    stamp = db.ops.adapt_datetimefield_value(now)
    run_id = task_run.run_id
    params = [*success_params, stamp, run_id, *task_run.downstream, run_id, task_run.pk]
    with prepared_cursor(db) as cursor:
        cursor.execute(_succeed_and_queue_sql(success_sql, len(task_run.downstream)), params)
        return cursor.fetchall()


def decide_pending(run_id: int, names: Iterable[str], now) -> bool:
    """Queue (or decide) those of the pending tasks ``names`` that wait for nothing any more.

    Reads committed data: call it after the commit that finished an upstream task.
    Returns whether one was queued or decided.
    """
    names = list(names)
    if not names:
        return False
    return bool(_act_on(_queue_finished(run_id, names, now), run_id, now))


def _act_on(rows: list[tuple[int, str, str, str]], run_id: int, now) -> set[str]:
    """Send the tasks the UPDATE queued; decide under the run's lock those of other rules."""
    send_after_commit((pk, queue) for pk, _, rule, queue in rows if rule == TriggerRule.ALL_SUCCESS)
    other_rules = [name for _, name, rule, _ in rows if rule != TriggerRule.ALL_SUCCESS]
    if other_rules:
        _decide_under_lock(run_id, other_rules, now)
    return {name for _, name, _, _ in rows}


def check_after_commit(run_id: int, names: Iterable[str], now) -> None:
    """After the current transaction commits, ``decide_pending`` these tasks."""
    names = list(names)
    if names:
        transaction.on_commit(lambda: decide_pending(run_id, names, now))


def _queue_finished(run_id: int, names: list[str], now) -> list[tuple[int, str, str, str]]:
    stamp = connection.ops.adapt_datetimefield_value(now)
    with prepared_cursor() as cursor:
        cursor.execute(_queue_sql(connection.vendor, len(names)), [stamp, run_id, *names, run_id])
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
def _queue_sql(vendor: str, names: int, *, after_success: bool = False) -> str:
    """The UPDATE that queues the named pending tasks with no upstream task left to do.

    ``after_success``: as part of ``_succeed_and_queue_sql``, only if its success was
    recorded, leaving that upstream task out.
    """
    assert TaskState.PENDING in TASK_MOVES[TaskState.QUEUED], "update with the moves"
    task, run = _quote(TaskRun._meta.db_table), _quote(WorkflowRun._meta.db_table)
    recorded = "EXISTS (SELECT 1 FROM done) AND " if after_success else ""
    simple = f"trigger_rule = '{TriggerRule.ALL_SUCCESS}'"
    placeholders = ", ".join(["%s"] * names)
    return (
        f"UPDATE {task} SET state = CASE WHEN {simple} THEN '{TaskState.QUEUED}' ELSE state END, "
        f"queued_at = CASE WHEN {simple} THEN %s ELSE queued_at END "
        f"WHERE {recorded}run_id = %s AND task_name IN ({placeholders}) "
        f"AND state = '{TaskState.PENDING}' "
        f"AND EXISTS (SELECT 1 FROM {run} r WHERE r.id = {task}.run_id "
        f"AND r.state = '{RunState.RUNNING}') "
        f"AND {_nothing_left_upstream(vendor, names, after_success)} "
        f"RETURNING id, task_name, trigger_rule, queue"
    )


# Up to so many tasks, each looks for an active upstream task of its own (the search stops at
# the first: a fan-in's end finds one at once); more (a fan-out's root), and the run's active
# tasks are read once for the names they hold back.
_FEW = 8


def _nothing_left_upstream(vendor: str, names: int, after_success: bool) -> str:
    """The condition that no active task of the run lists this one among its downstream
    tasks; parameters: the run's id, then (``after_success``) the ending task's, left out."""
    task = _quote(TaskRun._meta.db_table)
    active = ", ".join(f"'{state}'" for state in ACTIVE_TASK_STATES)
    others = f"u.run_id = %s AND u.state IN ({active})"
    if after_success:
        others += " AND u.id <> %s"
    if names > _FEW:
        if vendor == "postgresql":
            listed = "jsonb_array_elements_text(u.downstream) j(value)"
        else:
            listed = "json_each(u.downstream) j"
        return f"task_name NOT IN (SELECT j.value FROM {task} u, {listed} WHERE {others})"
    if vendor == "postgresql":
        lists_it = f"u.downstream @> jsonb_build_array({task}.task_name)"
    else:
        lists_it = (
            "EXISTS (SELECT 1 FROM json_each(u.downstream) "
            f"WHERE json_each.value = {task}.task_name)"
        )
    return f"NOT EXISTS (SELECT 1 FROM {task} u WHERE {others} AND {lists_it})"


@lru_cache(maxsize=64)
def _succeed_and_queue_sql(success_sql: str, names: int) -> str:
    # Rows (0, id…) say the success was recorded; (1, id, name, rule, queue) what was queued.
    queue_sql = _queue_sql("postgresql", names, after_success=True)
    return (
        f"WITH done AS ({success_sql} RETURNING id), queued AS ({queue_sql}) "
        f"SELECT 0, id, '', '', '' FROM done "
        f"UNION ALL SELECT 1, id, task_name, trigger_rule, queue FROM queued"
    )
