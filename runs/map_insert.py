"""The instances of a mapped step, made in one ``INSERT … SELECT`` over the JSON list of items.

Django's ``bulk_create`` of 10,000 rows spends most of a second building model objects
and compiling batches; the database does the same work from one statement in a tenth
of that. Columns come from the model: an instance takes its step's values (queue,
pool, group…) but for its own identity, progress and outcome, so a column added to
TaskRun later is filled without touching this. PostgreSQL and SQLite (≥ 3.35, for
RETURNING) each have their JSON table function.
"""

import json

from django.db import connection

from .models import TaskRun
from .states import TaskState

# What an instance does not take from its step: set below, or the field's default.
OWN_VALUES = {
    *("id", "task_name", "state", "attempt", "max_attempts", "worker", "heartbeat_at"),
    *("queued_at", "started_at", "finished_at", "next_attempt_at", "wait_deadline"),
    *("result", "error", "traceback", "note", "upstream", "downstream"),
    *("map_count", "map_parent", "map_index", "map_item"),
}
PER_ITEM = ("task_name", "map_index", "map_item")

# The rows of the items' JSON array: its index from 0, its value as JSON.
ITEM_ROWS = {
    "postgresql": (
        "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS item(value, n)",
        "item.n - 1",
        "item.value",
    ),
    "sqlite": (
        "FROM json_each(%s) AS item",
        "item.key",
        # json_each gives true and false as 1 and 0: keep them JSON booleans.
        "CASE item.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
        "ELSE json_quote(item.value) END",
    ),
}


def insert_instances(step: TaskRun, items: list, now) -> list[int]:
    """Insert one queued instance of ``step`` per item (``square[0]``…); their ids, in order."""
    values = _instance_values(step, now)
    rows, index, value = ITEM_ROWS[connection.vendor]
    columns = [field.column for field in values]
    placeholders = [_placeholder(field) for field in values]
    table = connection.ops.quote_name(TaskRun._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in [*columns, *PER_ITEM])
    sql = (
        f"INSERT INTO {table} ({names}) "
        f"SELECT {', '.join(placeholders)}, %s || '[' || ({index}) || ']', {index}, {value} "
        f"{rows} RETURNING id"
    )
    params = [field.get_db_prep_save(v, connection) for field, v in values.items()]
    params += [step.task_name, json.dumps(items)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def _instance_values(step: TaskRun, now) -> dict:
    own = {
        "state": TaskState.QUEUED,
        "queued_at": now,
        # The budget of attempts the step had when it was taken.
        "max_attempts": step.max_attempts - step.attempt + 1,
        "map_parent": step.task_name,
    }
    values = {}
    for field in TaskRun._meta.concrete_fields:
        name = field.attname
        if field.primary_key or name in PER_ITEM:
            continue
        if name in own:
            values[field] = own[name]
        elif name in OWN_VALUES:
            values[field] = field.get_default()
        else:
            values[field] = getattr(step, name)
    return values


def _placeholder(field) -> str:
    # In a SELECT list PostgreSQL does not infer a parameter's type from the target column.
    if connection.vendor == "postgresql":
        return f"CAST(%s AS {field.db_type(connection)})"
    return "%s"
