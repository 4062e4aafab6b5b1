"""Recording the versions of a workflow's code: one WorkflowVersion per distinct definition."""

from datetime import timedelta

from django.db import IntegrityError, transaction

from .definition import WorkflowDefinition
from .models import Workflow, WorkflowVersion
from .registry import provenance_of


def version_for(workflow: Workflow, definition: WorkflowDefinition) -> WorkflowVersion:
    """The version of ``definition``, recorded the first time any process meets it."""
    found = WorkflowVersion.objects.filter(workflow=workflow, code_hash=definition.code_hash)
    # Without its source and graph: a run only points at it, and a 5,000-task graph is large.
    version = found.defer("source", "graph", "parameter_schema").first()
    if version is not None:
        return version
    try:
        with transaction.atomic():  # a savepoint: another process may record it meanwhile
            version = new_version(workflow, definition)
            version.save()
            return version
    except IntegrityError:
        return found.get()


def new_version(workflow: Workflow, definition: WorkflowDefinition) -> WorkflowVersion:
    """The unsaved version of ``definition``, with its source and where it came from."""
    provenance = provenance_of(definition)
    revision = provenance.revision
    from_git = revision is not None and revision.origin == WorkflowVersion.Origin.GIT
    return WorkflowVersion(
        workflow=workflow,
        code_hash=definition.code_hash,
        source=provenance.source.replace("\x00", "\ufffd"),
        source_path=provenance.source_path,
        graph=_plain(definition.task_specs()),
        parameter_schema=definition.parameters.json_schema(),
        origin=provenance.origin,
        revision=revision.id if revision else "",
        commit_author=revision.author if from_git else "",
        commit_message=revision.message if from_git else "",
        committed_at=revision.committed_at if from_git else None,
    )


def _plain(value):
    """Task specs as JSON: durations in seconds."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value
