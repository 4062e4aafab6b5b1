"""Claiming a task run: one conditional UPDATE that also returns what the attempt needs.

The UPDATE ... RETURNING (PostgreSQL, and SQLite ≥ 3.35) saves the SELECT that
would follow it, on the path every task takes.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.db import connection
from django.utils import timezone

from ..models import TaskRun, WorkflowRun
from ..states import TASK_MOVES, TaskState
from .watch import worker_identity

CLAIMED_COLUMNS = ("id", "run_id", "task_name", "kind", "attempt", "max_attempts", "queue")


@lru_cache(maxsize=4)
def _claim_sql(vendor: str) -> str:
    table = connection.ops.quote_name(TaskRun._meta.db_table)
    sources = set(TASK_MOVES[TaskState.RUNNING])
    assert sources == {TaskState.QUEUED, TaskState.UP_FOR_RETRY}, "update the claim with the moves"
    return (
        f"UPDATE {table} SET state = %s, attempt = attempt + 1, worker = %s, heartbeat_at = %s, "
        f"started_at = %s, finished_at = NULL, next_attempt_at = NULL, result = NULL, "
        f"error = '', traceback = '' "
        f"WHERE id = %s AND (state = %s OR (state = %s AND next_attempt_at <= %s)) "
        f"RETURNING {', '.join(CLAIMED_COLUMNS)}, downstream"
    )


def claim_task_run(task_run_id: int) -> TaskRun | None:
    """queued → running, or a due retry → running; None when the row was not claimable.

    A duplicated or late message finds the row in another state and gets None.
    """
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    worker = worker_identity()
    params = [TaskState.RUNNING, worker, stamp, stamp, task_run_id]
    params += [TaskState.QUEUED, TaskState.UP_FOR_RETRY, stamp]
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(connection.vendor), params)
        row = cursor.fetchone()
    if row is None:
        return None
    downstream = TaskRun._meta.get_field("downstream").from_db_value(row[-1], None, connection)
    task_run = TaskRun(
        **dict(zip(CLAIMED_COLUMNS, row[:-1], strict=True)),
        downstream=downstream,
        state=TaskState.RUNNING,
        worker=worker,
        started_at=now,
        heartbeat_at=now,
    )
    task_run.run_info = run_info(task_run.run_id)
    return task_run


@dataclass(frozen=True)
class RunInfo:
    """What tasks read of their run; it never changes once the run exists."""

    workflow: str
    parameters: dict
    logical_date: datetime | None


@lru_cache(maxsize=1024)
def run_info(run_id: int) -> RunInfo:
    slug, parameters, logical_date = WorkflowRun.objects.values_list(
        "workflow__slug", "parameters", "logical_date"
    ).get(pk=run_id)
    return RunInfo(slug, parameters, logical_date)
