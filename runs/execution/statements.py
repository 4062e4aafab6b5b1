"""The statements every task runs, written in SQL.

On this path Django's query compilation costs more CPU than the queries
themselves: with them in SQL a 1,000-task fan-out went from ~420 to ~750
tasks/s on a 2-core machine (bench/engine.py); prepared on PostgreSQL, they also
cost it half the CPU (``runs.execution.prepared``). Names come from the models and
the legal moves from ``runs.states``, so they stay in step with both.
PostgreSQL and SQLite (≥ 3.35, for RETURNING) run the same text.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..models import TaskRun, WorkflowRun
from ..pools import park_or_claim
from ..states import ACTIVE_TASK_STATES, TASK_MOVES, TaskState
from .prepared import prepared_cursor
from .reconnect import survives_outages
from .watch import worker_identity

CLAIMED_COLUMNS = (
    "id",
    "run_id",
    "task_name",
    "kind",
    "attempt",
    "max_attempts",
    "queue",
    "pool",
    "wait_deadline",
    "map_parent",  # an instance of a mapped step (runs.mapping)
    "map_index",
    "map_item",
)


def _table() -> str:
    return connection.ops.quote_name(TaskRun._meta.db_table)


# A due retry, a wait's due check or an approval's deadline: claimable from its time on.
_DUE_STATES = (TaskState.UP_FOR_RETRY, TaskState.WAITING)


@lru_cache(maxsize=8)
def _claim_sql(vendor: str, in_pool: bool = False) -> str:
    sources = set(TASK_MOVES[TaskState.RUNNING])
    assert sources == {TaskState.QUEUED, *_DUE_STATES}, "update the claim with the moves"
    due = ", ".join(f"'{state}'" for state in _DUE_STATES)
    # A pooled task is claimed only under its pool's lock (runs.pools).
    pool = "" if in_pool else "AND pool = '' "
    return (
        f"UPDATE {_table()} SET state = '{TaskState.RUNNING}', attempt = attempt + 1, worker = %s, "
        f"heartbeat_at = %s, started_at = %s, finished_at = NULL, next_attempt_at = NULL, "
        f"result = NULL, error = '', traceback = '' "
        f"WHERE id = %s AND (state = '{TaskState.QUEUED}' "
        f"OR (state IN ({due}) AND next_attempt_at <= %s)) "
        f"{pool}RETURNING {', '.join(CLAIMED_COLUMNS)}, downstream"
    )


@lru_cache(maxsize=4)
def _pool_sql(vendor: str) -> str:
    due = ", ".join(f"'{state}'" for state in _DUE_STATES)
    return (
        f"SELECT pool FROM {_table()} WHERE id = %s AND pool <> '' AND "
        f"(state = '{TaskState.QUEUED}' OR (state IN ({due}) AND next_attempt_at <= %s))"
    )


def claim_task_run(task_run_id: int) -> TaskRun | None:
    """queued → running, or a due retry → running; None when the row was not claimable.

    One conditional UPDATE that also returns what the attempt needs: a
    duplicated or late message finds the row in another state and gets None.
    """
    return _claim(task_run_id, timezone.now(), worker_identity())


@survives_outages
def _claim(task_run_id: int, now: datetime, worker: str) -> TaskRun | None:
    # The connection itself, not the ``connection`` proxy: each attribute read through the
    # proxy is a thread-local lookup, a few µs, and this path makes dozens per task.
    db = connections[DEFAULT_DB_ALIAS]
    stamp = db.ops.adapt_datetimefield_value(now)
    with prepared_cursor(db) as cursor:
        row = _claim_row(cursor, db, task_run_id, worker, stamp)
        if row is None:
            # Claimed by this very call already, if its commit's answer was lost in an outage.
            cursor.execute(_own_claim_sql(db.vendor), [task_run_id, worker, stamp])
            row = cursor.fetchone()
        if row is None:
            cursor.execute(_pool_sql(db.vendor), [task_run_id, stamp])
            pool = cursor.fetchone()
            if pool is not None:
                row = park_or_claim(
                    task_run_id,
                    pool[0],
                    lambda: _claim_row(cursor, db, task_run_id, worker, stamp, in_pool=True),
                )
    if row is None:
        return None
    claimed = dict(zip(CLAIMED_COLUMNS, row[:-1], strict=True))
    claimed["wait_deadline"] = _aware(claimed["wait_deadline"])
    claimed["map_item"] = _json("map_item", claimed["map_item"], db)
    claimed["downstream"] = _json("downstream", row[-1], db)
    task_run = TaskRun(
        **claimed,
        state=TaskState.RUNNING,
        worker=worker,
        started_at=now,
        heartbeat_at=now,
    )
    task_run.run_info = run_info(task_run.run_id)
    return task_run


def _json(column: str, value, db):
    return TaskRun._meta.get_field(column).from_db_value(value, None, db)


def _aware(value) -> datetime | None:
    # SQLite answers a raw query with text or a naive UTC time; PostgreSQL with an aware one.
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def _claim_row(cursor, db, task_run_id: int, worker: str, stamp, *, in_pool: bool = False):
    params = [worker, stamp, stamp, task_run_id, stamp]
    cursor.execute(_claim_sql(db.vendor, in_pool), params)
    return cursor.fetchone()


@lru_cache(maxsize=4)
def _own_claim_sql(vendor: str) -> str:
    return (
        f"SELECT {', '.join(CLAIMED_COLUMNS)}, downstream FROM {_table()} "
        f"WHERE id = %s AND state = '{TaskState.RUNNING}' AND worker = %s AND started_at = %s"
    )


@lru_cache(maxsize=4)
def _success_sql(vendor: str) -> str:
    assert TaskState.RUNNING in TASK_MOVES[TaskState.SUCCESS], "update with the moves"
    return (
        f"UPDATE {_table()} SET state = '{TaskState.SUCCESS}', finished_at = %s, result = %s, "
        f"error = '', traceback = '', next_attempt_at = NULL "
        f"WHERE id = %s AND state = '{TaskState.RUNNING}'"
    )


def record_success(task_run: TaskRun, result, now: datetime) -> bool:
    """running → success with its result; False when the task had left running meanwhile."""
    db = connections[DEFAULT_DB_ALIAS]
    with prepared_cursor(db) as cursor:
        cursor.execute(*success_statement(db, task_run, result, now))
        return cursor.rowcount == 1


def success_statement(db, task_run: TaskRun, result, now: datetime) -> tuple[str, list]:
    """The UPDATE of ``record_success`` and its parameters (runs.downstream extends it)."""
    value = TaskRun._meta.get_field("result").get_db_prep_value(result, db)
    stamp = db.ops.adapt_datetimefield_value(now)
    return _success_sql(db.vendor), [stamp, value, task_run.pk]


def recorded_earlier(task_run: TaskRun, state: str, now: datetime) -> bool:
    """Whether this attempt already ended in ``state`` at ``now``: a retried recording's own.

    After an outage, a commit may have succeeded with its answer lost; the retry's
    conditional UPDATE then finds the row moved, by itself.
    """
    return TaskRun.objects.filter(
        pk=task_run.pk, state=state, attempt=task_run.attempt, finished_at=now
    ).exists()


@lru_cache(maxsize=4)
def _active_sql(vendor: str) -> str:
    states = ", ".join(f"'{state}'" for state in ACTIVE_TASK_STATES)
    return f"SELECT 1 FROM {_table()} WHERE run_id = %s AND state IN ({states}) LIMIT 1"


def run_has_active_tasks(run_id: int) -> bool:
    """Whether some task of the run is still to do (served by the taskrun_active_by_run index)."""
    db = connections[DEFAULT_DB_ALIAS]
    with prepared_cursor(db) as cursor:
        cursor.execute(_active_sql(db.vendor), [run_id])
        return cursor.fetchone() is not None


@lru_cache(maxsize=4)
def _active_instances_sql(vendor: str) -> str:
    states = ", ".join(f"'{state}'" for state in ACTIVE_TASK_STATES)
    return (
        f"SELECT 1 FROM {_table()} WHERE run_id = %s AND map_parent = %s "
        f"AND map_index IS NOT NULL AND state IN ({states}) LIMIT 1"
    )


def step_has_active_instances(run_id: int, step: str) -> bool:
    """Whether an instance of the mapped step is still to do (the taskrun_map_instance_states
    index): asked as each instance ends."""
    db = connections[DEFAULT_DB_ALIAS]
    with prepared_cursor(db) as cursor:
        cursor.execute(_active_instances_sql(db.vendor), [run_id, step])
        return cursor.fetchone() is not None


@dataclass(frozen=True)
class RunInfo:
    """What tasks read of their run; it never changes once the run exists."""

    workflow: str
    parameters: dict
    logical_date: datetime | None
    version_id: int | None = None  # the code the run is pinned to (workflows.live)
    code_hash: str = ""


@lru_cache(maxsize=1024)
def run_info(run_id: int) -> RunInfo:
    slug, parameters, logical_date, version_id, code_hash = WorkflowRun.objects.values_list(
        "workflow__slug", "parameters", "logical_date", "version_id", "version__code_hash"
    ).get(pk=run_id)
    return RunInfo(slug, parameters, logical_date, version_id, code_hash or "")
