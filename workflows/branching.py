"""``@branch``: a task whose result names the step(s) to follow; the others are skipped."""

import sys

from .errors import DefinitionError
from .tasks import declare_task


class BranchChoiceError(Exception):
    """A branch returned nothing, or a name that is not one of the steps after it."""


def branch(fn=None, *, name=None, **options):
    """Declare a task that chooses which of the steps right after it run.

    It returns the name of one of its direct downstream steps, or a list of names
    (a group's name stands for the group's first steps); the other steps after it
    are ``skipped``, and the steps after those follow their trigger rules
    (``none_failed`` runs after a skip, the default ``all_success`` is skipped too).
    Options are those of ``@task``.
    """
    frame = sys._getframe(1)
    return declare_task(
        fn,
        name=name,
        options=options,
        file=frame.f_code.co_filename,
        line=frame.f_lineno,
        branch=True,
    )


def check_branches(workflow) -> None:
    """A branch needs steps after it to choose among."""
    for node in workflow.tasks.values():
        if node.branch and not workflow.downstream(node.name):
            raise DefinitionError(
                f"branch '{node.name}' has no step after it to choose from: "
                f"use '{node.name} >> [one, other]'",
                workflow=workflow.slug,
                file=node.file,
                line=node.line,
            )


def chosen_steps(task: str, returned, choices: list[str]) -> list[str]:
    """The direct downstream steps a branch's return value names, or BranchChoiceError."""
    listed = ", ".join(f"'{choice}'" for choice in choices)
    names = [returned] if isinstance(returned, str) else returned
    if not names or not isinstance(names, (list, tuple)):
        raise BranchChoiceError(
            f"branch '{task}' returned {returned!r}: it must return the name of the step to "
            f"follow, or a list of names, among {listed}"
        )
    chosen = []
    for name in names:
        matches = [c for c in choices if c == name or c.startswith(f"{name}.")]
        if not isinstance(name, str) or not matches:
            raise BranchChoiceError(
                f"branch '{task}' returned {name!r}, which is not a step right after it: "
                f"choose among {listed}"
            )
        chosen.extend(match for match in matches if match not in chosen)
    return chosen
