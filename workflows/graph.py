"""Building a workflow's task graph while its body runs."""

from contextlib import contextmanager
from contextvars import ContextVar

from .errors import DefinitionError

_builder: ContextVar["GraphBuilder | None"] = ContextVar("baton_graph_builder", default=None)


def current_builder() -> "GraphBuilder | None":
    return _builder.get()


class GraphBuilder:
    """Collects the TaskNodes created while one workflow body runs."""

    def __init__(self, workflow: str, file: str, line: int):
        self.workflow = workflow
        self.file = file
        self.line = line
        self.nodes = {}
        self._definitions = {}
        self.groups = []  # the ``with group(...)`` blocks open now, outermost first

    @contextmanager
    def active(self):
        token = _builder.set(self)
        try:
            yield self
        finally:
            _builder.reset(token)

    def unique_name(self, name: str, definition) -> str:
        """The node name for a new call; a task called twice gets ``name__2``, like Airflow.

        Inside ``with group("extract"):`` the name is ``extract.<name>``.
        """
        if self.groups:
            name = f"{self.groups[-1].path}.{name}"
        if name not in self.nodes:
            self._definitions[name] = definition
            return name
        if definition is not None and self._definitions.get(name) is definition:
            n = 2
            while f"{name}__{n}" in self.nodes:
                n += 1
            self._definitions[f"{name}__{n}"] = definition
            return f"{name}__{n}"
        first = self.nodes[name]
        raise DefinitionError(
            f"duplicate task name '{name}' (first declared at line {first.line}); "
            f"give one of them another name",
            workflow=self.workflow,
            file=self.file,
            line=first.line,
        )

    def add(self, node):
        from .references import ParamRef
        from .tasks import TaskNode

        for leaf in node.references():
            if isinstance(leaf, TaskNode):
                if self.nodes.get(leaf.name) is not leaf:
                    raise DefinitionError(
                        f"task '{node.name}' uses the result of '{leaf.name}', which belongs "
                        f"to another workflow",
                        workflow=self.workflow,
                        file=node.file,
                        line=node.line,
                    )
                node.add_upstream(leaf)
            elif isinstance(leaf, ParamRef) and leaf.workflow != self.workflow:
                raise DefinitionError(
                    f"task '{node.name}' uses parameter '{leaf.name}' "
                    f"of workflow '{leaf.workflow}'",
                    workflow=self.workflow,
                    file=node.file,
                    line=node.line,
                )
        self.nodes[node.name] = node
        if self.groups:
            node.group = self.groups[-1].path
            for group in self.groups:
                group.nodes.append(node)
        return node

    def ordered_nodes(self) -> list:
        """The nodes in a topological order (declaration order among equals); rejects cycles."""
        for node in self.nodes.values():
            for up in node.upstream:
                if up not in self.nodes:
                    raise DefinitionError(
                        f"task '{node.name}' depends on '{up}', which is not in this workflow",
                        workflow=self.workflow,
                        file=node.file,
                        line=node.line,
                    )
        remaining = {name: set(node.upstream) for name, node in self.nodes.items()}
        ordered = []
        while remaining:
            ready = [name for name, ups in remaining.items() if not ups]
            if not ready:
                raise DefinitionError(
                    f"the tasks form a cycle: {' → '.join(self._find_cycle(remaining))}",
                    workflow=self.workflow,
                    file=self.file,
                    line=self.line,
                )
            for name in ready:
                del remaining[name]
                ordered.append(self.nodes[name])
            for ups in remaining.values():
                ups.difference_update(ready)
        return ordered

    def _find_cycle(self, remaining: dict) -> list[str]:
        start = next(iter(remaining))
        path, seen = [start], {start}
        while True:
            nxt = sorted(remaining[path[-1]])[0]
            if nxt in seen:
                # path follows upstream links; reversed, it reads in execution order.
                return [*path[path.index(nxt) :], nxt][::-1]
            path.append(nxt)
            seen.add(nxt)
