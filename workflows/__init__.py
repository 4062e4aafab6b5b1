"""Baton's authoring API: declare workflows and their tasks in Python.

from workflows import workflow, task, shell, Secret, context, Range, Notify
"""

from .branching import branch
from .containers import container
from .context import context
from .definition import WorkflowDefinition, workflow
from .errors import DefinitionError, ParameterErrors
from .groups import group
from .notify import Notify
from .parameter_limits import Range
from .parameters import Label
from .references import Secret
from .tasks import TaskOptions, TriggerRule, shell, task
from .waits import approval, wait_for, wait_until

__all__ = [
    "DefinitionError",
    "Label",
    "Notify",
    "ParameterErrors",
    "Range",
    "Secret",
    "TaskOptions",
    "TriggerRule",
    "WorkflowDefinition",
    "branch",
    "container",
    "context",
    "group",
    "shell",
    "task",
    "approval",
    "wait_for",
    "wait_until",
    "workflow",
]
