"""The permission matrix: what each role gets, on a workflow it was given and on another one.

A role is given three ways (to the user on the workflow, to one of their groups
on the workflow, or on all workflows through the role group), and each way must
answer the same. Pages and API endpoints of other issues join the matrix by
adding one ``Page`` to PAGES: its URL, the need it checks, the status it
answers when allowed, and its ``effect``: what it shows, or what it changed.
Everything else (403, 404, and that a refusal changes nothing and a 404 does
not even name the workflow) follows from the tables.

Both workflows are loaded from code and every run page acts on a run where the
action can succeed (a running run to cancel, a failed one to retry or mark), so
an allowed action that is refused for another reason fails its case.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import permissions
from accounts.roles import Role
from accounts.testing import give_role, make_user, make_workflow
from runs.models import TaskLogChunk, TaskRun, WorkflowRun
from runs.services import trigger_run
from tests.effects import (
    Snapshot,
    assert_paused,
    assert_role_given,
    assert_run_cancelled,
    assert_run_started,
    assert_task_marked,
    assert_tasks_run_again,
    assert_unchanged,
    changes_since,
    leaked,
)
from tests.pages_world import registry_with, synced_for_module, write_workflows
from workflows.models import Workflow
from workflows.registry import reset_registry

ROLES = ("none", "viewer", "operator", "editor", "owner", "superuser")
ALLOWED = "allowed"  # the page's own success status (200, or 302 for actions)

# fmt: off
# On the workflow the role was given on.
ON_GRANTED = {
    #           none  viewer   operator editor   owner    superuser
    "view":    (404,  ALLOWED, ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    "trigger": (404,  403,     ALLOWED, ALLOWED, ALLOWED, ALLOWED),
    "change":  (404,  403,     403,     ALLOWED, ALLOWED, ALLOWED),
    "manage":  (404,  403,     403,     403,     ALLOWED, ALLOWED),
}
# On another workflow: it does not exist for them, except for superusers.
ON_OTHER = {need: (404, 404, 404, 404, 404, ALLOWED) for need in ON_GRANTED}
# fmt: on

MATRIX_WORKFLOWS = """
from typing import Literal

from workflows import task, workflow


@task
def step(region: str, top: int) -> int:
    return top


@task
def after(total: int) -> int:
    return total


@workflow(title="Granted payroll")
def granted_flow(region: Literal["north", "south"] = "north", top: int = 3):
    after(step(region, top))


@workflow(title="Hidden payroll")
def other_flow(region: Literal["north", "south"] = "north", top: int = 3):
    after(step(region, top))
"""

LOG_LINE = "step read 42 rows"


@dataclass
class World:
    user: object
    granted: Workflow
    other: Workflow
    bystander: object  # a Viewer of both workflows, whom the Access page adds and removes
    is_global: bool
    # What one case tries the page on, and what it answered:
    workflow: Workflow | None = None
    run: WorkflowRun | None = None
    response: object = None


def text_of(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def said(world: World) -> str:
    """For a failed assertion: which workflow, and the end of what the page answered."""
    return f"on {world.workflow.slug}: {text_of(world.response)[-2000:]}"


def shows(what: Callable) -> Callable:
    """The effect of a page that reads: it shows ``what(world)``, and nothing changed."""

    def effect(world: World, before: Snapshot) -> None:
        assert what(world) in text_of(world.response)
        assert_unchanged(changes_since(before))

    return effect


def role_given(role: Role | None) -> Callable:
    """The bystander (a Viewer) now holds ``role`` on the workflow (None: no role)."""

    def effect(world: World, before: Snapshot) -> None:
        assert_role_given(
            changes_since(before),
            holder=world.bystander,
            workflow=world.workflow,
            had=Role.VIEWER.permissions,
            now=role.permissions if role else frozenset(),
            by=world.user,
        )

    return effect


def run_started(world: World, before: Snapshot) -> None:
    assert_run_started(
        changes_since(before),
        workflow=world.workflow,
        parameters={"region": "south", "top": 7},
        by=world.user,
        trigger="manual",
    )


def paused(state: bool) -> Callable:
    def effect(world: World, before: Snapshot) -> None:
        assert_paused(changes_since(before), workflow=world.workflow, paused=state, by=world.user)

    return effect


def run_cancelled(world: World, before: Snapshot) -> None:
    assert_run_cancelled(changes_since(before), run=world.run, by=world.user)


def run_again(verb: str) -> Callable:
    def effect(world: World, before: Snapshot) -> None:
        assert_tasks_run_again(
            changes_since(before),
            run=world.run,
            tasks={"step", "after"},
            verb=verb,
            by=world.user,
        )

    return effect


def task_marked(world: World, before: Snapshot) -> None:
    assert_task_marked(
        changes_since(before),
        run=world.run,
        task="step",
        state="success",
        reason="checked by hand",
        by=world.user,
    )


def _on_run(name: str, *args) -> Callable:
    """The URL ``name`` of the case's run (and ``args``): for pages with ``run=``."""
    return lambda world: reverse(name, args=[world.run.pk, *args])


def _on_workflow(name: str) -> Callable:
    return lambda world: reverse(name, args=[world.workflow.slug])


def _set_paused(world: World) -> None:
    Workflow.objects.filter(pk=world.workflow.pk).update(is_paused=True)


@dataclass
class Page:
    name: str
    url: Callable  # (world) -> str
    need: str
    method: str = "get"
    data: Callable = field(default=lambda world: {})  # (world) -> query or POST data
    ok: int = 200
    effect: Callable = shows(lambda world: world.workflow.title)  # (world, before) -> None
    run: str | None = None  # "failed" or "running": the run of the workflow it acts on
    setup: Callable = field(default=lambda world: None)  # (world) -> None, before the request


PAGES = [
    Page(
        "access page",
        _on_workflow("accounts:workflow_access"),
        need="manage",
        effect=shows(lambda world: world.bystander.username),
    ),
    Page(
        "give access",
        _on_workflow("accounts:workflow_access"),
        need="manage",
        method="post",
        data=lambda world: {"user": world.bystander.username, "role": "operator"},
        ok=302,
        effect=role_given(Role.OPERATOR),
    ),
    Page(
        "remove access",
        _on_workflow("accounts:workflow_access_remove"),
        need="manage",
        method="post",
        data=lambda world: {"user": world.bystander.pk},
        ok=302,
        effect=role_given(None),
    ),
    Page("history", _on_workflow("audit:workflow_history"), need="manage"),
    Page(
        "history export",
        _on_workflow("audit:workflow_history_export"),
        need="manage",
        effect=shows(lambda world: "workflow.added"),  # sync's event, in the CSV
    ),
    # The staff pages (issue 7).
    Page("workflow page", _on_workflow("workflows:detail"), need="view"),
    Page(
        "run form",
        _on_workflow("workflows:run"),
        need="trigger",
        effect=shows(lambda world: 'name="top"'),
    ),
    Page(
        "start a run",
        _on_workflow("workflows:run"),
        need="trigger",
        method="post",
        data=lambda world: {"region": "south", "top": "7"},
        ok=302,
        effect=run_started,
    ),
    Page(
        "pause",
        _on_workflow("workflows:pause"),
        need="change",
        method="post",
        data=lambda world: {"action": "pause"},
        ok=302,
        effect=paused(True),
    ),
    Page(
        "unpause",
        _on_workflow("workflows:pause"),
        need="change",
        method="post",
        data=lambda world: {"action": "unpause"},
        ok=302,
        effect=paused(False),
        setup=_set_paused,
    ),
    Page(
        "run page",
        _on_run("runs:detail"),
        need="view",
        effect=shows(lambda world: f"#{world.run.number}"),
        run="failed",
    ),
    # The code pages (issue 14).
    Page(
        "run code tab",
        _on_run("runs:code"),
        need="view",
        effect=shows(lambda world: 'class="source"'),  # the version's source, highlighted
        run="failed",
    ),
    Page(
        "version page",
        lambda world: reverse(
            "workflows:version",
            args=[
                world.workflow.slug,
                Workflow.objects.get(pk=world.workflow.pk).current_version_id,
            ],
        ),
        need="view",
        effect=shows(lambda world: 'class="source"'),
    ),
    Page(
        "task log",
        _on_run("runs:task_log", "step"),
        need="view",
        effect=shows(lambda world: LOG_LINE),
        run="failed",
    ),
    Page(
        "task log tail",
        _on_run("runs:task_log_tail", "step"),
        need="view",
        data=lambda world: {"attempt": 1, "after": 0, "line": 1},
        effect=shows(lambda world: LOG_LINE),
        run="failed",
    ),
    Page(
        "task log earlier",
        _on_run("runs:task_log_earlier", "step"),
        need="view",
        data=lambda world: {"attempt": 1, "before": len(LOG_LINE) + 1},
        effect=shows(lambda world: LOG_LINE),
        run="failed",
    ),
    Page(
        "task log download",
        _on_run("runs:task_log_download", "step"),
        need="view",
        effect=shows(lambda world: LOG_LINE),
        run="failed",
    ),
    Page(
        "cancel run",
        _on_run("runs:cancel"),
        need="change",
        method="post",
        ok=302,
        effect=run_cancelled,
        run="running",
    ),
    Page(
        "retry failed tasks",
        _on_run("runs:retry_failed"),
        need="change",
        method="post",
        ok=302,
        effect=run_again("run.retried"),
        run="failed",
    ),
    Page(
        "retry a task",
        _on_run("runs:retry_task", "step"),
        need="change",
        method="post",
        ok=302,
        effect=run_again("task.retried"),
        run="failed",
    ),
    Page(
        "mark a task (form)",
        _on_run("runs:mark_task", "step"),
        need="change",
        effect=shows(lambda world: 'name="reason"'),
        run="failed",
    ),
    Page(
        "mark a task",
        _on_run("runs:mark_task", "step"),
        need="change",
        method="post",
        data=lambda world: {"state": "success", "reason": "checked by hand"},
        ok=302,
        effect=task_marked,
        run="failed",
    ),
]


def make_matrix_run(workflow: Workflow, state: str) -> WorkflowRun:
    """A run of ``workflow`` that the run pages can act on.

    "running": just started, "step" queued. "failed": "step" failed after
    writing LOG_LINE in its log, "after" upstream_failed.
    """
    run = trigger_run(workflow=workflow, parameters={})
    if state == "failed":
        tasks = TaskRun.objects.filter(run=run)
        tasks.filter(task_name="step").update(state="failed", attempt=1)
        tasks.filter(task_name="after").update(state="upstream_failed")
        WorkflowRun.objects.filter(pk=run.pk).update(state="failed")
        TaskLogChunk.objects.create(
            task_run=tasks.get(task_name="step"), attempt=1, seq=1, text=LOG_LINE + "\n"
        )
    run.refresh_from_db()
    assert run.state == state
    return run


# (role, how the role was given); "none" and "superuser" are given nothing.
CASES = [("none", "-"), ("superuser", "-")] + [
    (role, how)
    for role in ("viewer", "operator", "editor", "owner")
    for how in ("to the user", "to a group", "on all workflows")
]


@pytest.fixture(scope="module")
def matrix_registry(tmp_path_factory):
    folder = write_workflows(tmp_path_factory.mktemp("matrix"), MATRIX_WORKFLOWS)
    return registry_with(folder, ("granted_flow", "other_flow"))


@pytest.fixture(scope="module")
def matrix_client():
    return Client()


@pytest.fixture
def client(matrix_client):
    """pytest-django's client, but one for the module: a new one loads the middleware (~0.1 s)."""
    matrix_client.cookies.clear()
    return matrix_client


@pytest.fixture(scope="module")
def synced(django_db_setup, django_db_blocker, matrix_registry):
    yield from synced_for_module(matrix_registry, django_db_blocker)


@pytest.fixture
def world_for(db, synced, matrix_registry):
    reset_registry(matrix_registry)

    def build(role: str, how: str) -> World:
        granted = Workflow.objects.get(slug="granted_flow")
        other = Workflow.objects.get(slug="other_flow")
        user = make_user("matrix", superuser=role == "superuser")
        if how == "to the user":
            give_role(user, role, granted)
        elif how == "to a group":
            team = Group.objects.create(name="matrix team")
            team.user_set.add(user)
            give_role(team, role, granted)
        elif how == "on all workflows":
            give_role(user, role)
        user = get_user_model().objects.get(pk=user.pk)  # drop cached permissions
        bystander = make_user("bystander")
        for workflow in (granted, other):
            give_role(bystander, Role.VIEWER, workflow)
        return World(user, granted, other, bystander, is_global=how == "on all workflows")

    yield build
    reset_registry(None)


def expected(role: str, need: str, world: World, on_granted: bool):
    table = ON_GRANTED if on_granted or world.is_global else ON_OTHER
    return table[need][ROLES.index(role)]


def assert_refused(world: World, before: Snapshot, status: int, url: str) -> None:
    """Nothing changed; a 404 does not name the workflow (beyond the address it echoes)."""
    assert_unchanged(changes_since(before))
    if status == 404:
        names = [world.workflow.slug, world.workflow.title]
        assert leaked(text_of(world.response), names, besides=url) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
@pytest.mark.parametrize("role, how", CASES)
def test_it_answers_each_page_as_the_table_says(client, world_for, page, role, how):
    world = world_for(role, how)
    client.force_login(world.user)
    # Both workflows in one world (building it is most of a case's time).
    for on_granted in (True, False):
        world.workflow = world.granted if on_granted else world.other
        world.run = make_matrix_run(world.workflow, page.run) if page.run else None
        page.setup(world)
        url = page.url(world)
        before = Snapshot.take()

        world.response = getattr(client, page.method)(url, page.data(world))

        want = expected(role, page.need, world, on_granted)
        if want == ALLOWED:
            assert world.response.status_code == page.ok, said(world)
            page.effect(world, before)
        else:
            assert world.response.status_code == want, said(world)
            assert_refused(world, before, want, url)


@dataclass
class Listing:
    """A page listing what the user may see: it shows ``shows(world)`` exactly when allowed."""

    name: str
    url: str  # the URL name
    shows: Callable  # (world) -> text that names the workflow or its run


LISTINGS = [
    Listing("home", "workflows:list", lambda world: world.workflow.title),
    Listing("runs list", "runs:list", lambda world: f'href="{world.run.get_absolute_url()}"'),
]


@pytest.mark.parametrize("listing", LISTINGS, ids=lambda listing: listing.name)
@pytest.mark.parametrize("role, how", CASES)
def test_it_lists_what_the_table_lets_see(client, world_for, listing, role, how):
    world = world_for(role, how)
    client.force_login(world.user)
    for on_granted in (True, False):
        world.workflow = world.granted if on_granted else world.other
        world.run = make_matrix_run(world.workflow, "failed")
        before = Snapshot.take()

        response = client.get(reverse(listing.url))

        assert response.status_code == 200
        listed = listing.shows(world) in response.content.decode()
        assert listed is (expected(role, "view", world, on_granted) == ALLOWED), world.workflow
        assert_unchanged(changes_since(before))


@pytest.mark.parametrize("need", list(ON_GRANTED))
@pytest.mark.parametrize("role, how", CASES)
def test_it_answers_the_permission_functions_as_the_table_says(world_for, role, how, need):
    world = world_for(role, how)

    for workflow, on_granted in [(world.granted, True), (world.other, False)]:
        want = expected(role, need, world, on_granted)
        assert permissions.can(world.user, need, workflow) is (want == ALLOWED)
        listed = permissions.workflows_for(world.user, need).filter(pk=workflow.pk).exists()
        assert listed is (want == ALLOWED)
        if want == ALLOWED:
            assert permissions.workflow_for(world.user, workflow.slug, need)[0] == workflow
        else:
            raised = Http404 if want == 404 else PermissionDenied
            with pytest.raises(raised):
                permissions.workflow_for(world.user, workflow.slug, need)


def test_it_lists_only_the_workflows_a_user_may_see(db):
    visible, _hidden = make_workflow("visible_flow"), make_workflow("hidden_flow")
    user = make_user("viewer")
    give_role(user, "viewer", visible)

    assert list(permissions.workflows_for(user).values_list("slug", flat=True)) == ["visible_flow"]
    assert permissions.workflows_for(user, "trigger").count() == 0


def test_it_lists_workflows_in_a_constant_number_of_queries(db):
    team = Group.objects.create(name="ops")
    user = make_user("operator")
    team.user_set.add(user)

    def queries_for(workflow_count: int) -> int:
        for number in range(workflow_count):
            workflow = make_workflow(f"flow_{workflow_count}_{number}")
            give_role(user if number % 2 else team, "operator", workflow)
        fresh = get_user_model().objects.get(pk=user.pk)
        with CaptureQueriesContext(connection) as context:
            list(permissions.workflows_for(fresh, "trigger"))
        return len(context.captured_queries)

    assert queries_for(2) == queries_for(20)


def test_it_gives_nothing_to_inactive_users_nor_anonymous_ones(db):
    from django.contrib.auth.models import AnonymousUser

    workflow = make_workflow("some_flow")
    user = make_user("gone")
    give_role(user, "owner", workflow)
    user.is_active = False
    user.save()

    for nobody in (user, AnonymousUser()):
        assert permissions.workflows_for(nobody).count() == 0
        assert not permissions.can(nobody, "view", workflow)
        with pytest.raises(Http404):
            permissions.workflow_for(nobody, "some_flow")


def test_it_shows_inactive_workflows_for_their_history(db):
    workflow = make_workflow("retired_flow", is_active=False)
    user = make_user("viewer")
    give_role(user, "viewer", workflow)

    assert permissions.workflow_for(user, "retired_flow")[0] == workflow
    assert permissions.workflows_for(user).filter(slug="retired_flow").exists()


def test_it_answers_404_for_a_workflow_that_does_not_exist(db):
    with pytest.raises(Http404):
        permissions.workflow_for(make_user("root", superuser=True), "no_such_flow")


def test_it_refuses_an_unknown_need(db):
    with pytest.raises(ValueError, match="unknown need 'delete'"):
        permissions.workflows_for(make_user("someone"), "delete")
