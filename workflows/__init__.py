"""Baton's authoring API: declare workflows and their tasks in Python.

from workflows import workflow, task, shell, Secret, context
"""

from .context import context
from .definition import WorkflowDefinition, workflow
from .errors import DefinitionError, ParameterErrors
from .references import Secret
from .tasks import TaskOptions, TriggerRule, shell, task

__all__ = [
    "DefinitionError",
    "ParameterErrors",
    "Secret",
    "TaskOptions",
    "TriggerRule",
    "WorkflowDefinition",
    "context",
    "shell",
    "task",
    "workflow",
]
