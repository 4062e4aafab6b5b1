"""``square.map(items)``: one instance of a task per item of a list known at run time.

The workflow body declares one mapped step; when a run reaches it, the worker that
takes it makes one task run per item (``square[0]``, ``square[1]``…, see
``runs.mapping``), and the step's result, for the tasks after it, is the list of
the instances' results in order.
"""

import inspect

from django.conf import settings

from .errors import DefinitionError
from .graph import current_builder
from .references import ParamRef


def mapped_node(definition, items, fixed: dict, *, file: str, line: int):
    """The mapped step of ``definition.map(items, **fixed)``, added to the workflow being built."""
    from .tasks import TaskNode

    builder = current_builder()
    where = {"file": file, "line": line}
    if builder is None:
        raise DefinitionError(
            f"{definition.name}.map() was called outside a workflow; call it inside a "
            f"@workflow function",
            **where,
        )
    where["workflow"] = builder.workflow
    if definition.branch:
        raise DefinitionError(f"@branch task '{definition.name}' cannot be mapped", **where)
    check_items(definition.name, items, where)
    node = TaskNode(
        name=builder.unique_name(definition.name, definition),
        kind="python",
        options=definition.options,
        file=file,
        line=line,
        definition=definition,
        kwargs=dict(fixed),
        mapped=True,
        map_over=items,
        map_argument=_item_argument(definition, fixed, where),
    )
    return builder.add(node)


def check_items(task: str, items, where: dict) -> None:
    """A DefinitionError when ``items`` cannot be a list: a literal of another type, too long."""
    from .tasks import TaskNode

    if isinstance(items, (TaskNode, ParamRef)):
        return  # known when the run gets there; a parameter's type is checked with the schema
    if not isinstance(items, (list, tuple)):
        raise DefinitionError(
            f"{task}.map() needs a list of items (an upstream task's result, a list[...] "
            f"parameter or a list), not {_shown(items)}",
            **where,
        )
    if len(items) > settings.BATON_MAX_MAP:
        raise DefinitionError(too_many_items(task, len(items)), **where)


def too_many_items(task: str, count: int) -> str:
    limit = settings.BATON_MAX_MAP
    return (
        f"{task}.map() got {count:,} items, over the limit of {limit:,} instances "
        f"(BATON_MAX_MAP): split the list, or raise the limit"
    )


def not_a_list(task: str, items, source: str) -> str:
    """Why a run-time value cannot be mapped over: it names the value and where it came from."""
    return f"{task}.map() needs a list of items, but {source} gave {_shown(items)}"


def check_mapped_parameters(workflow) -> None:
    """A mapped step over a parameter needs a list parameter (``list[str]``…)."""
    for node in workflow.tasks.values():
        if not (node.mapped and isinstance(node.map_over, ParamRef)):
            continue
        kind = workflow.parameters[node.map_over.name].json_schema().get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        if "array" not in kinds:
            raise DefinitionError(
                f"{node.definition.name}.map() is over parameter '{node.map_over.name}', "
                f"which is not a list: give it a type such as list[str]",
                workflow=workflow.slug,
                file=node.file,
                line=node.line,
            )


def _item_argument(definition, fixed: dict, where: dict) -> str:
    signature = inspect.signature(definition.fn)
    by_name = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    free = [
        p.name for p in signature.parameters.values() if p.kind in by_name and p.name not in fixed
    ]
    if not free:
        raise DefinitionError(
            f"{definition.name}.map(): every parameter of '{definition.name}' is given, "
            f"so none is left for the item",
            **where,
        )
    try:
        signature.bind(**{free[0]: None}, **fixed)
    except TypeError as exc:
        raise DefinitionError(
            f"{definition.name}.map() called with the wrong arguments: {exc}", **where
        ) from None
    return free[0]


def _shown(value) -> str:
    text = repr(value)
    text = text if len(text) <= 80 else text[:77] + "..."
    return f"{text} (a {type(value).__name__})"
