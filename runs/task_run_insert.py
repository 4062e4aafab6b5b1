"""A new run's task runs in one statement: ``INSERT … SELECT`` over a JSON array of rows.

Django's ``bulk_create`` of 5,000 task runs spends most of a second building model
objects and preparing 30 values per row. A workflow's task runs are the same for
every run of it but for the run's id, so their rows are rendered once per loaded
definition, as one JSON text, and PostgreSQL turns it into typed rows
(``jsonb_to_recordset``). Columns come from the model, so a field added to TaskRun
later is filled without touching this. Other databases (SQLite, embedded) take
``bulk_create``.
"""

import json
from collections.abc import Callable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from workflows.definition import WorkflowDefinition

from .models import TaskRun, WorkflowRun

# Rendered rows by definition (kept with it, so a reused id() is never mistaken for it).
_ROWS: dict[int, tuple[WorkflowDefinition, str]] = {}
_KEPT = 64  # definitions whose rows are kept; live code reloads make new ones


def insert_task_runs(
    run: WorkflowRun,
    definition: WorkflowDefinition,
    build: Callable[[WorkflowRun, WorkflowDefinition], list[TaskRun]],
) -> None:
    """Insert the task runs ``build(run, definition)`` makes, in one round trip."""
    if connection.vendor != "postgresql":
        TaskRun.objects.bulk_create(build(run, definition))
        return
    kept = _ROWS.get(id(definition))
    if kept is None or kept[0] is not definition:
        if len(_ROWS) >= _KEPT:
            _ROWS.clear()
        kept = _ROWS[id(definition)] = (definition, _rows_json(build(run, definition)))
    with connection.cursor() as cursor:
        cursor.execute(_statement(), [run.pk, kept[1]])


def _fields() -> list:
    return [
        field
        for field in TaskRun._meta.concrete_fields
        if not field.primary_key and field.attname != "run_id"
    ]


def _rows_json(task_runs: list[TaskRun]) -> str:
    fields = _fields()
    rows = [{f.column: f.value_from_object(task) for f in fields} for task in task_runs]
    return json.dumps(rows, cls=DjangoJSONEncoder)


def _statement() -> str:
    quote = connection.ops.quote_name
    fields = _fields()
    columns = ", ".join(quote(f.column) for f in fields)
    types = ", ".join(f"{quote(f.column)} {f.db_type(connection)}" for f in fields)
    # In array order, so ids follow the graph's order as bulk_create's did.
    return (
        f"INSERT INTO {quote(TaskRun._meta.db_table)} ({quote('run_id')}, {columns}) "
        f"SELECT %s, {columns} FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ({types})) "
        f"WITH ORDINALITY AS item({columns}, ordinality) ORDER BY ordinality"
    )
