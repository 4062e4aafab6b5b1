"""The world of the staff-page tests: people with roles, workflows, runs made by hand.

    @pytest.fixture
    def world(db, tmp_path):
        with page_world(tmp_path) as built:
            yield built

The world holds a workflow "report" (three tasks: fetch → sum → send) loaded
from code (so it has a run form) and people holding each role on it: viewer,
operator, editor, owner, plus a stranger with no role and a superuser.
Runs are written straight to the database (``make_run``): page tests need
states, not an engine.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from accounts.testing import give_role, make_user
from runs.models import TaskRun, WorkflowRun
from runs.testing import use_workflows
from workflows.models import Workflow
from workflows.registry import Registry, discover
from workflows.sync import sync_workflows

WORKFLOWS = """
from datetime import date
from typing import Annotated, Literal

from workflows import context, task, workflow


@task
def fetch(region: str, day: date | None) -> list:
    context.logger.info("Fetching %s", region)
    return [1, 2, 3]


@task
def add_up(rows: list, top: int) -> int:
    return sum(rows[:top])


@task
def send(total: int, dry_run: bool) -> str:
    print(f"Total: {total}")
    return "ok"


@workflow(tags=["finance", "daily"])
def report(
    region: Annotated[Literal["north", "south"], "Sales region"] = "north",
    top: Annotated[int, "How many rows to add up"] = 3,
    day: Annotated[date | None, "Day to report on"] = None,
    dry_run: Annotated[bool, "Only pretend"] = True,
):
    \"\"\"Add up the day's sales of a region.

    Sends the total to the managers.
    \"\"\"
    send(add_up(fetch(region, day), top), dry_run)


@workflow(schedule="30 6 * * 1-5", tags=["ops"])
def cleanup(folder: Annotated[str, "Folder to empty"] = "/tmp/x"):
    \"\"\"Empty the scratch folder every working day.\"\"\"
    fetch(folder, None)
"""

TASKS = ("fetch", "add_up", "send")


@dataclass
class World:
    report: Workflow
    cleanup: Workflow
    viewer: object
    operator: object
    editor: object
    owner: object
    stranger: object
    root: object


def write_workflows(folder: Path, source: str = WORKFLOWS) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "page_workflows.py").write_text(source)
    return folder


def registry_with(folder: Path, slugs) -> Registry:
    """The default workflows (those ``migrate`` synced) and the ``slugs`` found in ``folder``.

    Discover it once per module and sync it in each test: syncing only adds the
    few workflows of ``slugs``, where syncing a whole folder of them costs ~1 s.
    """
    found = discover(workflows_dir=str(folder))
    workflows = {**discover().workflows, **{slug: found.workflows[slug] for slug in slugs}}
    return Registry(workflows=workflows)


def synced_for_module(registry: Registry, django_db_blocker) -> Iterator[None]:
    """Sync ``registry`` once for a module, in a transaction left open until its last test.

    For a module-scoped fixture (``yield from``): pytest-django's ``db`` runs each
    test in a savepoint of it, so every test starts from the synced workflows and
    nothing of them is left when the module ends (rolled back). Only for modules
    whose tests all use ``db``, not ``transactional_db``.
    """
    atomic = transaction.atomic()
    with django_db_blocker.unblock():
        atomic.__enter__()
        sync_workflows(registry=registry)
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@contextmanager
def page_world(tmp_path: Path) -> Iterator[World]:
    """Build the world (needs database access); its workflows stay loaded until exit."""
    with use_workflows(write_workflows(tmp_path / "page_workflows")):
        report = Workflow.objects.get(slug="report")
        people = {role: make_user(role) for role in ("viewer", "operator", "editor", "owner")}
        for role, person in people.items():
            give_role(person, role, report)
        yield World(
            report=report,
            cleanup=Workflow.objects.get(slug="cleanup"),
            stranger=make_user("stranger"),
            root=make_user("root", superuser=True),
            **people,
        )


def make_run(
    workflow: Workflow,
    *,
    state: str = "success",
    tasks: dict | None = None,
    parameters: dict | None = None,
    started_by=None,
    ago: timedelta = timedelta(minutes=5),
    trigger: str = "manual",
    number: int | None = None,
) -> WorkflowRun:
    """A run with its task runs in the given states (every task in the run's state by default)."""
    now = timezone.now()
    started = now - ago
    finished = (
        started + timedelta(seconds=42) if state in ("success", "failed", "cancelled") else None
    )
    last = WorkflowRun.objects.filter(workflow=workflow).order_by("-number").first()
    run = WorkflowRun.objects.create(
        workflow=workflow,
        number=number or (last.number + 1 if last else 1),
        state=state,
        parameters=parameters if parameters is not None else {"region": "north", "top": 3},
        trigger=trigger,
        started_by=started_by,
        created_at=started,
        started_at=started,
        finished_at=finished,
    )
    task_state = {"queued": "pending", "running": "running"}.get(state, state)
    states = tasks or {name: task_state for name in TASKS}
    TaskRun.objects.bulk_create(
        TaskRun(
            run=run,
            task_name=name,
            position=position,
            upstream=[list(states)[position - 1]] if position else [],
            downstream=[list(states)[position + 1]] if position + 1 < len(states) else [],
            state=task_state,
            attempt=0 if task_state == "pending" else 1,
            max_attempts=1,
            started_at=None if task_state == "pending" else started,
            finished_at=finished if task_state not in ("pending", "running") else None,
        )
        for position, (name, task_state) in enumerate(states.items())
    )
    return run
