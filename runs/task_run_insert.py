"""A new run's task runs in one statement: ``INSERT … SELECT`` over a JSON array of rows.

Django's ``bulk_create`` of 5,000 task runs spends most of a second building model
objects and preparing 30 values per row. A workflow's task runs are the same for
every run of it but for the run's id, so their rows are rendered once per loaded
definition, as JSON text, and PostgreSQL turns it into typed rows
(``jsonb_to_recordset``): the values all rows share (kind, queue, rule, the empty
columns…) once, as one record, and per row only those that differ. Columns come from
the model, so a field added to TaskRun later is filled without touching this. Other
databases (SQLite, embedded) take ``bulk_create``.

A run that starts at once has its roots queued by the same statement: a task with
no upstream is decided by its trigger rule alone, so the decision is made once, when
the rows are rendered, instead of reading the new run's graph back to decide it.
"""

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from workflows.definition import WorkflowDefinition

from .models import TaskRun, WorkflowRun
from .states import TaskState
from .trigger_rules import Decision, decide

QueuedRoots = list[tuple[int, str]]  # (task run id, queue): what to send after commit


@dataclass(frozen=True)
class _Rendered:
    definition: WorkflowDefinition  # kept, so a reused id() is never mistaken for it
    statement: str
    shared: str  # JSON object: the values every row has (the same kind, queue, rule…)
    rows: str  # JSON array: for each row, the values that differ between rows
    roots_queueable: bool


# Rendered rows by definition.
_ROWS: dict[int, _Rendered] = {}
_KEPT = 64  # definitions whose rows are kept; live code reloads make new ones
_READY = "ready_at_start"  # the rendered rows' flag: a root its run queues as it starts


def insert_task_runs(
    run: WorkflowRun,
    definition: WorkflowDefinition,
    build: Callable[[WorkflowRun, WorkflowDefinition], list[TaskRun]],
    *,
    queue_roots_at: datetime | None = None,
) -> QueuedRoots | None:
    """Insert the task runs ``build(run, definition)`` makes, in one round trip.

    With ``queue_roots_at`` (the run starts now), the roots go in queued at that
    time and their ``(id, queue)`` are returned, for the caller to send after
    commit. None when they cannot all be queued so (a workflow with no task, or a
    root whose trigger rule skips it): every row is then pending, and the caller
    decides the roots the usual way. Without ``queue_roots_at``: every row pending, [].
    """
    if connection.vendor != "postgresql":
        return _bulk_create(build(run, definition), queue_roots_at)
    rendered = _ROWS.get(id(definition))
    if rendered is None or rendered.definition is not definition:
        if len(_ROWS) >= _KEPT:
            _ROWS.clear()
        rendered = _ROWS[id(definition)] = _render(definition, build(run, definition))
    if queue_roots_at is not None and not rendered.roots_queueable:
        queue_roots_at, roots = None, None
    else:
        roots = []
    values = {"run": run.pk, "shared": rendered.shared, "rows": rendered.rows, "at": queue_roots_at}
    with connection.cursor() as cursor:
        cursor.execute(rendered.statement, values)
        if queue_roots_at is not None:
            roots = cursor.fetchall()
    return roots


def _ready_at_start(task: TaskRun) -> bool:
    return not task.upstream and decide(task.trigger_rule, []) is Decision.READY


def _roots_queueable(task_runs: list[TaskRun]) -> bool:
    """Every root is ready by its rule (so nothing else is decided as the run starts)."""
    roots = [task for task in task_runs if not task.upstream]
    return bool(roots) and all(_ready_at_start(task) for task in roots)


def _bulk_create(task_runs: list[TaskRun], queue_roots_at: datetime | None) -> QueuedRoots | None:
    if queue_roots_at is None:
        TaskRun.objects.bulk_create(task_runs)
        return []
    if not _roots_queueable(task_runs):
        TaskRun.objects.bulk_create(task_runs)
        return None
    for task in task_runs:
        if _ready_at_start(task):
            task.state, task.queued_at = TaskState.QUEUED, queue_roots_at
    TaskRun.objects.bulk_create(task_runs)
    # Read back: SQLite before 3.35 returns no ids from a bulk insert.
    queued = TaskRun.objects.filter(run_id=task_runs[0].run_id, state=TaskState.QUEUED)
    return list(queued.order_by("pk").values_list("pk", "queue"))


def _fields() -> list:
    return [
        field
        for field in TaskRun._meta.concrete_fields
        if not field.primary_key and field.attname != "run_id"
    ]


def _render(definition: WorkflowDefinition, task_runs: list[TaskRun]) -> _Rendered:
    """The rows as JSON, each value that all rows share given once: 5,000 rows of 30
    columns make 3 MB of JSON, whose parsing costs more than the insert itself."""
    fields = _fields()
    rows = [
        {**{f.column: f.value_from_object(task) for f in fields}, _READY: _ready_at_start(task)}
        for task in task_runs
    ]
    shared = {
        column: value
        for column, value in (rows[0].items() if rows else ())
        # position stays in the rows: a row source needs a column, even for one row.
        if column != "position" and all(row[column] == value for row in rows)
    }
    rows = [{c: v for c, v in row.items() if c not in shared} for row in rows]
    return _Rendered(
        definition,
        _statement(shared.keys()),
        json.dumps(shared, cls=DjangoJSONEncoder),
        json.dumps(rows, cls=DjangoJSONEncoder),
        _roots_queueable(task_runs),
    )


def _statement(shared: Collection[str]) -> str:
    quote = connection.ops.quote_name
    fields = _fields()
    types = {f.column: f.db_type(connection) for f in fields} | {_READY: "boolean"}

    def value(column: str) -> str:
        return f"{'shared' if column in shared else 'item'}.{quote(column)}"

    def typed(columns) -> str:
        return ", ".join(f"{quote(column)} {types[column]}" for column in columns)

    queued = f"{value(_READY)} AND %(at)s::timestamptz IS NOT NULL"
    starting = {
        "state": f"CASE WHEN {queued} THEN '{TaskState.QUEUED.value}' ELSE {value('state')} END",
        "queued_at": f"CASE WHEN {queued} THEN %(at)s::timestamptz ELSE {value('queued_at')} END",
    }
    columns = ", ".join(quote(f.column) for f in fields)
    values = ", ".join(starting.get(f.column, value(f.column)) for f in fields)
    in_rows = [column for column in types if column not in shared]
    source = (
        f"ROWS FROM (jsonb_to_recordset(%(rows)s::jsonb) AS ({typed(in_rows)})) "
        f"WITH ORDINALITY AS item({', '.join(quote(c) for c in in_rows)}, ordinality)"
    )
    if shared:
        source = (
            f"jsonb_to_record(%(shared)s::jsonb) AS shared({typed(shared)}) CROSS JOIN {source}"
        )
    # In array order, so ids follow the graph's order as bulk_create's did.
    return (
        f"WITH inserted AS ("
        f"INSERT INTO {quote(TaskRun._meta.db_table)} ({quote('run_id')}, {columns}) "
        f"SELECT %(run)s, {values} FROM {source} ORDER BY item.ordinality "
        f"RETURNING id, state, queue) "
        f"SELECT id, queue FROM inserted WHERE state = '{TaskState.QUEUED.value}' ORDER BY id"
    )
