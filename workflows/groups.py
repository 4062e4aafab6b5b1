"""``with group("extract"):``: steps declared together, named and drawn as one box."""

import re
import sys

from .errors import DefinitionError
from .graph import current_builder

# A group's name is one part of its steps' names ("extract.load"): no dot of its own.
GROUP_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,99}")
STEP_NAME_MAX = 150


class TaskGroup:
    """The steps declared inside one ``with group(name):`` block.

    ``group >> task`` makes ``task`` wait for the group's last steps (its leaves);
    ``task >> group`` makes the group's first steps (its roots) wait for ``task``.
    """

    def __init__(self, name: str, path: str, *, file: str, line: int, workflow: str):
        self.name = name
        self.path = path
        self.nodes = []
        self.where = {"workflow": workflow, "file": file, "line": line}

    def __enter__(self) -> "TaskGroup":
        current_builder().groups.append(self)
        return self

    def __exit__(self, *exc_info):
        current_builder().groups.remove(self)
        for node in self.nodes:
            if len(node.name) > STEP_NAME_MAX:
                raise DefinitionError(
                    f"step name '{node.name}' is over {STEP_NAME_MAX} characters with its "
                    f"group's name: shorten the group or the step name",
                    **self.where,
                )
        return False

    def roots(self) -> list:
        """The group's steps that wait for no other step of the group."""
        names = {node.name for node in self._steps()}
        return [node for node in self.nodes if not set(node.upstream) & names]

    def leaves(self) -> list:
        """The group's steps that no other step of the group waits for."""
        waited_for = {up for node in self._steps() for up in node.upstream}
        return [node for node in self.nodes if node.name not in waited_for]

    def _steps(self) -> list:
        if not self.nodes:
            raise DefinitionError(
                f"group '{self.path}' has no step to join with '>>'", **self.where
            )
        return self.nodes

    def __rshift__(self, other):
        for leaf in self.leaves():
            leaf >> other
        return other

    def __rrshift__(self, other):
        for root in self.roots():
            other >> root
        return self

    def __lshift__(self, other):
        for root in self.roots():
            root << other
        return other

    def __rlshift__(self, other):
        for leaf in self.leaves():
            other << leaf
        return self

    def __repr__(self):
        return f"<group {self.path}>"


def group(name: str) -> TaskGroup:
    """Declare steps together inside a workflow body: ``with group("extract") as extract:``.

    Each step declared in the block is named ``extract.<name>`` and the graph draws
    them in one box, which can be folded. ``extract >> load`` makes ``load`` wait for
    the group's last steps; ``start >> extract`` makes its first steps wait for ``start``.
    Groups may be nested (``extract.eu.<name>``).
    """
    frame = sys._getframe(1)
    file, line = frame.f_code.co_filename, frame.f_lineno
    builder = current_builder()
    if builder is None:
        raise DefinitionError(
            f"group '{name}' was used outside a workflow; use it inside a @workflow function",
            file=file,
            line=line,
        )
    if not isinstance(name, str) or not GROUP_NAME.fullmatch(name):
        raise DefinitionError(
            f"group name {name!r} is not allowed: use up to 100 letters (a-z, A-Z), digits, "
            f"_ and - starting with a letter, digit or _ (no dot: it joins group and step names)",
            workflow=builder.workflow,
            file=file,
            line=line,
        )
    path = f"{builder.groups[-1].path}.{name}" if builder.groups else name
    return TaskGroup(name, path, file=file, line=line, workflow=builder.workflow)
