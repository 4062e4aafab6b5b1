"""Writing the workflows found in code into the database."""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.db import transaction
from django_celery_beat.models import PeriodicTask

from audit.recorder import SYSTEM, Verb, record_event, record_events

from .definition import WorkflowDefinition
from .models import TaskSpec, Workflow, WorkflowLoadError, WorkflowSchedule, WorkflowVersion
from .registry import Registry
from .schedules import BATON_TASK, declared_key, row_key, timing_from_declaration
from .versions import new_version, version_for

logger = logging.getLogger(__name__)


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    # Active workflows missing from code that were not deactivated, and why (see --prune).
    kept: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.deactivated)} deactivated"
        ]
        out += [f"  + {slug}" for slug in self.created]
        out += [f"  ~ {slug}" for slug in self.updated]
        out += [f"  - {slug} (no longer in code; history kept)" for slug in self.deactivated]
        out += [f"  ! {message}" for message in self.errors]
        out += [
            f"  = {slug} kept active, although not found in code: {reason}"
            for slug, reason in self.kept.items()
        ]
        return out

    def problems(self) -> list[str]:
        """What should make a deploy step fail: unloadable files, workflows kept on doubt."""
        out = []
        if self.errors:
            out.append(f"{len(self.errors)} file(s) could not be loaded; the others were synced.")
        if self.kept:
            out.append(
                f"{len(self.kept)} workflow(s) missing from code were kept active; "
                f"run `manage.py sync_workflows --prune` to deactivate them."
            )
        return out


def _code_fields(definition: WorkflowDefinition) -> dict:
    return {
        # Stored in English (the code's text); pages translate it when shown.
        "title": str(definition.title),
        "description": str(definition.description),
        "tags": definition.tags,
        "owners": definition.owners,
        "max_active_runs": definition.max_active_runs,
        "catchup": definition.catchup,
        "timeout": definition.timeout,
        "schedule": definition.schedule_text(),
        "parameter_schema": definition.parameters.json_schema(),
        "source_file": definition.file,
        "source_line": definition.line,
        "code_hash": definition.code_hash,
        "is_active": True,
    }


def _write_task_specs(workflow: Workflow, definition: WorkflowDefinition) -> None:
    """The workflow's TaskSpec rows made the definition's: changed rows only are written."""
    specs = {spec["name"]: spec for spec in definition.task_specs()}
    workflow.tasks.exclude(name__in=list(specs)).delete()
    stored = {row.name: row for row in workflow.tasks.all()}
    changed = []
    for name, spec in specs.items():
        row = stored.get(name)
        if row is not None and any(getattr(row, key) != value for key, value in spec.items()):
            for key, value in spec.items():
                setattr(row, key, value)
            changed.append(row)
    if changed:
        fields = {key for spec in specs.values() for key in spec} - {"name"}
        TaskSpec.objects.bulk_update(changed, sorted(fields))
    TaskSpec.objects.bulk_create(
        [TaskSpec(workflow=workflow, **spec) for name, spec in specs.items() if name not in stored]
    )


def _record(verb: str, obj, workflow: Workflow, **details) -> None:
    record_event(verb=verb, actor_label=SYSTEM, obj=obj, workflow=workflow, details=details)


def _sync_schedule(workflow: Workflow, definition: WorkflowDefinition) -> None:
    """Create, update or delete the code-declared schedule, unless an admin took it over."""
    declared = declared_key(definition.schedule)
    current = (
        WorkflowSchedule.objects.filter(workflow=workflow, from_code=True)
        .select_related("periodic_task__crontab", "periodic_task__interval")
        .first()
    )
    if current is None:
        if declared:
            task = PeriodicTask.objects.create(
                name=f"{workflow.slug} (declared in code)",
                task=BATON_TASK,
                kwargs=json.dumps({"workflow": workflow.slug}),
                **timing_from_declaration(definition.schedule),
            )
            schedule = WorkflowSchedule.objects.create(
                periodic_task=task,
                workflow=workflow,
                from_code=True,
                code_schedule=declared,
                owner=WorkflowSchedule.Owner.CODE,
            )
            _record(Verb.SCHEDULE_CREATED, schedule, workflow, source="sync", timing=declared)
        return
    task = current.periodic_task
    if row_key(task) != current.code_schedule:
        if current.owner != WorkflowSchedule.Owner.ADMIN:
            current.owner = WorkflowSchedule.Owner.ADMIN
            current.save(update_fields=["owner"])
        return
    if not declared:
        _record(
            Verb.SCHEDULE_DELETED, current, workflow, source="sync", timing=current.code_schedule
        )
        task.delete()  # cascades to the WorkflowSchedule
    elif declared != current.code_schedule:
        for name, value in timing_from_declaration(definition.schedule).items():
            setattr(task, name, value)
        task.save()
        timing = {"before": current.code_schedule, "after": declared}
        _record(Verb.SCHEDULE_CHANGED, current, workflow, source="sync", timing=timing)
        current.code_schedule = declared
        current.save(update_fields=["code_schedule"])


def _sync_version(workflow: Workflow, definition: WorkflowDefinition, current_hash: str | None):
    """Make the definition's version the workflow's current one; a change is audited."""
    if current_hash == definition.code_hash:
        return
    version = version_for(workflow, definition)
    old_id = workflow.current_version_id
    workflow.current_version = version
    workflow.save(update_fields=["current_version"])
    if old_id is None:
        return
    commit = version.revision if version.origin == WorkflowVersion.Origin.GIT else ""
    _record(
        Verb.WORKFLOW_CODE_CHANGED,
        version,
        workflow,
        old_hash=current_hash or "",
        new_hash=version.code_hash,
        commit=commit,
        author=version.commit_author,
        origin=version.origin,
    )


def _create_all(definitions: list[WorkflowDefinition], report: SyncReport) -> None:
    """Workflows new to the database, in a few statements however many (a first sync)."""
    workflows = Workflow.objects.bulk_create(
        [Workflow(slug=d.slug, **_code_fields(d)) for d in definitions]
    )
    pairs = list(zip(workflows, definitions, strict=True))
    TaskSpec.objects.bulk_create(
        [TaskSpec(workflow=w, **spec) for w, d in pairs for spec in d.task_specs()]
    )
    versions = WorkflowVersion.objects.bulk_create([new_version(w, d) for w, d in pairs])
    for workflow, version in zip(workflows, versions, strict=True):
        workflow.current_version = version
    Workflow.objects.bulk_update(workflows, ["current_version"])
    added = {"verb": Verb.WORKFLOW_ADDED, "actor_label": SYSTEM}
    record_events(
        [{**added, "obj": w, "workflow": w, "details": {"source_file": d.file}} for w, d in pairs]
    )
    for workflow, definition in pairs:
        if definition.schedule is not None:
            _sync_schedule(workflow, definition)
    report.created.extend(d.slug for d in definitions)


def _sync_one(
    definition: WorkflowDefinition, existing: Workflow, report: SyncReport, current_hash: str | None
):
    _sync_version(existing, definition, current_hash)
    if existing.code_hash == definition.code_hash and existing.is_active:
        report.unchanged.append(definition.slug)
        return
    if not existing.is_active:  # back in code after being removed
        _record(
            Verb.WORKFLOW_ADDED, existing, existing, source_file=definition.file, reactivated=True
        )
    for name, value in _code_fields(definition).items():
        setattr(existing, name, value)
    existing.save()
    _write_task_specs(existing, definition)
    _sync_schedule(existing, definition)
    report.updated.append(definition.slug)


def _deactivate_removed(registry: Registry, existing: dict, report: SyncReport, prune: bool):
    for slug, workflow in existing.items():
        if slug in registry.workflows or not workflow.is_active:
            continue
        if workflow.source_file in registry.failed_files:
            continue  # its file is broken right now: keep it as it was
        doubt = None if prune else _doubt_about_removal(workflow.source_file, registry)
        if doubt:
            logger.warning("Workflow %s kept active although not found in code: %s", slug, doubt)
            report.kept[slug] = doubt
            continue
        workflow.is_active = False
        workflow.save(update_fields=["is_active", "updated_at"])
        _record(Verb.WORKFLOW_DEACTIVATED, workflow, workflow, source_file=workflow.source_file)
        report.deactivated.append(slug)


def _doubt_about_removal(source_file: str, registry: Registry) -> str | None:
    """Why a folder workflow missing from code may not really be gone (None: it is).

    A run without BATON_WORKFLOWS_DIR, or with the folder empty or unmounted, would
    otherwise deactivate every workflow of the folder; an app's workflows.py is
    deployed with the code, so its removals are trusted.
    """
    source = Path(source_file)
    if not source_file or any(source.is_relative_to(a.path) for a in apps.get_app_configs()):
        return None
    if registry.source_error:
        return f"its source could not be read: {registry.source_error}"
    if registry.revision is not None and registry.revision.origin == "git":
        # Each commit has a folder of its own: the workflow's file was in an earlier one.
        if not registry.folder_files:
            return f"the commit {registry.revision.short} holds no workflow file"
        return None
    folder = registry.folder
    if folder is None:
        return f"it came from {source}, and BATON_WORKFLOWS_DIR is not set"
    if not registry.folder_files:
        return f"it came from {source}, and the folder {folder} holds no workflow file"
    if not source.is_relative_to(folder):
        return f"it came from {source}, which is outside BATON_WORKFLOWS_DIR ({folder})"
    return None


def _record_load_errors(registry: Registry, report: SyncReport):
    current = {(e.file, e.message) for e in registry.errors}
    stored = {(e.file, e.message): e.pk for e in WorkflowLoadError.objects.all()}
    WorkflowLoadError.objects.filter(
        pk__in=[pk for key, pk in stored.items() if key not in current]
    ).delete()
    for error in registry.errors:
        if (error.file, error.message) not in stored:
            WorkflowLoadError.objects.create(
                file=error.file, message=error.message, traceback=error.traceback
            )
        report.errors.append(error.message)


@transaction.atomic
def sync_workflows(*, registry: Registry, prune: bool = False) -> SyncReport:
    """Upsert Workflow and TaskSpec rows from code; running it twice changes nothing.

    Workflows no longer in code are deactivated, except folder workflows when the
    folder looks missing (see ``_doubt_about_removal``): those are kept active and
    listed in ``report.kept`` unless ``prune`` is set.
    """
    report = SyncReport()
    existing = {w.slug: w for w in Workflow.objects.select_for_update()}
    current_hashes = dict(
        WorkflowVersion.objects.filter(
            pk__in=[w.current_version_id for w in existing.values() if w.current_version_id]
        ).values_list("workflow_id", "code_hash")
    )
    _create_all([d for slug, d in registry.workflows.items() if slug not in existing], report)
    for slug, definition in registry.workflows.items():
        if slug in existing:
            workflow = existing[slug]
            _sync_one(definition, workflow, report, current_hashes.get(workflow.pk))
    _deactivate_removed(registry, existing, report, prune)
    _record_load_errors(registry, report)
    return report
