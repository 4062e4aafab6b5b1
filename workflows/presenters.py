"""How workflows read on the staff pages: parameters explained, values shown, the task graph."""

import json
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Workflow
from .registry import get_registry

# A parameter's type in words, per kind (workflows.parameter_kinds), for the people who run it.
TYPE_WORDS = {
    "str": gettext_lazy("text"),
    "int": gettext_lazy("whole number"),
    "float": gettext_lazy("number"),
    "decimal": gettext_lazy("decimal number"),
    "bool": gettext_lazy("yes or no"),
    "date": gettext_lazy("date"),
    "datetime": gettext_lazy("date and time"),
    "time": gettext_lazy("time of day"),
    "timedelta": gettext_lazy("duration"),
    "list": gettext_lazy("list of text, one item per line"),
    "json": gettext_lazy("JSON object"),
}
# The same, read from a stored JSON Schema (for a workflow whose code is not loaded).
SCHEMA_TYPE_WORDS = {
    "string": gettext_lazy("text"),
    "integer": gettext_lazy("whole number"),
    "number": gettext_lazy("number"),
    "boolean": gettext_lazy("yes or no"),
    "array": gettext_lazy("list"),
    "object": gettext_lazy("JSON object"),
}


@dataclass(frozen=True)
class ParameterRow:
    name: str
    label: str
    type_words: str
    help_text: str
    required: bool
    default: str  # shown as text; "" when there is none


def shown_value(value) -> str:
    """A parameter's JSON value as a person reads it."""
    if value is None:
        return _("(empty)")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or _("(empty list)")
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def parameter_rows(workflow: Workflow) -> list[ParameterRow]:
    """The parameters of a workflow explained: from its code, or its stored schema if unloaded."""
    definition = get_registry().get(workflow.slug)
    if definition is None:
        return _rows_from_schema(workflow.parameter_schema or {})
    rows = []
    for parameter in definition.parameters:
        words = TYPE_WORDS.get(parameter.kind)
        if parameter.kind == "choice":
            choices = ", ".join(str(label) for _key, label in parameter.choices)
            words = _("one of: %(choices)s") % {"choices": choices}
        rows.append(
            ParameterRow(
                name=parameter.name,
                label=parameter.label,
                type_words=str(words or parameter.describe_type()),
                help_text=parameter.help_text,
                required=parameter.required,
                default=shown_value(parameter.dump(parameter.default))
                if parameter.has_default
                else "",
            )
        )
    return rows


def _rows_from_schema(schema: dict) -> list[ParameterRow]:
    required = set(schema.get("required", []))
    rows = []
    for name, spec in (schema.get("properties") or {}).items():
        kinds = spec.get("type", "")
        kind = next((k for k in ([kinds] if isinstance(kinds, str) else kinds) if k != "null"), "")
        words = SCHEMA_TYPE_WORDS.get(kind, kind)
        if "enum" in spec:
            choices = ", ".join(str(value) for value in spec["enum"] if value is not None)
            words = _("one of: %(choices)s") % {"choices": choices}
        rows.append(
            ParameterRow(
                name=name,
                label=spec.get("title", name),
                type_words=str(words),
                help_text=spec.get("description", ""),
                required=name in required,
                default=shown_value(spec["default"]) if "default" in spec else "",
            )
        )
    return rows


def graph_of(tasks, *, states: dict | None = None, links: dict | None = None) -> dict:
    """The task graph as the page's script draws it: nodes (with state and link) and edges.

    ``tasks`` are TaskSpec or TaskRun rows: anything with a name, kind and upstream names.
    """
    nodes, edges = [], []
    for task in tasks:
        name = getattr(task, "name", None) or task.task_name
        node = {"id": name, "kind": task.kind}
        if getattr(task, "group", ""):
            node["group"] = task.group  # drawn as one box that folds (static/js/graph.js)
        if _is_mapped(task):
            node["mapped"] = True
        if states is not None:
            node["state"] = states.get(name, "")
        if links is not None and name in links:
            node["href"] = links[name]
        nodes.append(node)
        edges.extend([upstream, name] for upstream in task.upstream)
    known = {node["id"] for node in nodes}
    return {"nodes": nodes, "edges": [e for e in edges if e[0] in known and e[1] in known]}


def _is_mapped(task) -> bool:
    # A TaskSpec keeps what it maps over in its arguments; a run's step, how many it made.
    arguments = getattr(task, "arguments", None)
    if isinstance(arguments, dict):
        return "map_over" in arguments
    return getattr(task, "map_count", None) is not None
