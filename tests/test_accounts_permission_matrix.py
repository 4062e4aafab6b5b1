"""The permission matrix: what each role gets, on a workflow it was given and on another one.

A role is given three ways (to the user on the workflow, to one of their groups
on the workflow, or on all workflows through the role group), and each way must
answer the same. Pages and API endpoints of other issues join the matrix by
adding one ``Page`` to PAGES: its URL, the need it checks, and the status it
answers when allowed. Everything else (403, 404) follows from the tables.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import permissions
from accounts.testing import give_role, make_user, make_workflow

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


@dataclass
class Page:
    name: str
    url: Callable  # (workflow) -> str
    need: str
    method: str = "get"
    data: Callable = field(default=lambda world: {})  # (world) -> query or POST data
    ok: int = 200


PAGES = [
    Page(
        "access page",
        lambda workflow: reverse("accounts:workflow_access", args=[workflow.slug]),
        need="manage",
    ),
    Page(
        "give access",
        lambda workflow: reverse("accounts:workflow_access", args=[workflow.slug]),
        need="manage",
        method="post",
        data=lambda world: {"user": world.bystander.username, "role": "viewer"},
        ok=302,
    ),
    Page(
        "remove access",
        lambda workflow: reverse("accounts:workflow_access_remove", args=[workflow.slug]),
        need="manage",
        method="post",
        data=lambda world: {"user": world.bystander.pk},
        ok=302,
    ),
    # The staff pages (issue 7). Run pages get their workflow's run from ``run_of``.
    Page(
        "workflow page", lambda workflow: reverse("workflows:detail", args=[workflow.slug]), "view"
    ),
    Page(
        "run form",
        lambda workflow: reverse("workflows:run", args=[workflow.slug]),
        need="trigger",
        ok=409,  # allowed, then: "this workflow is not in the code this server loaded"
    ),
    Page(
        "pause",
        lambda workflow: reverse("workflows:pause", args=[workflow.slug]),
        need="change",
        method="post",
        data=lambda world: {"action": "pause"},
        ok=302,
    ),
    Page("run page", lambda workflow: reverse("runs:detail", args=[run_of(workflow).pk]), "view"),
    Page(
        "task log",
        lambda workflow: reverse("runs:task_log", args=[run_of(workflow).pk, "step"]),
        need="view",
    ),
    Page(
        "task log download",
        lambda workflow: reverse("runs:task_log_download", args=[run_of(workflow).pk, "step"]),
        need="view",
    ),
    Page(
        "cancel run",
        lambda workflow: reverse("runs:cancel", args=[run_of(workflow).pk]),
        need="change",
        method="post",
        ok=302,
    ),
    Page(
        "retry failed tasks",
        lambda workflow: reverse("runs:retry_failed", args=[run_of(workflow).pk]),
        need="change",
        method="post",
        ok=302,
    ),
    Page(
        "retry a task",
        lambda workflow: reverse("runs:retry_task", args=[run_of(workflow).pk, "step"]),
        need="change",
        method="post",
        ok=302,
    ),
    Page(
        "mark a task (form)",
        lambda workflow: reverse("runs:mark_task", args=[run_of(workflow).pk, "step"]),
        need="change",
    ),
    Page(
        "mark a task",
        lambda workflow: reverse("runs:mark_task", args=[run_of(workflow).pk, "step"]),
        need="change",
        method="post",
        data=lambda world: {"state": "success", "reason": "checked by hand"},
        ok=302,
    ),
]


def run_of(workflow):
    """The run of ``workflow`` the run pages are tried on: failed, with one failed task "step"."""
    from runs.models import TaskRun, WorkflowRun

    run = WorkflowRun.objects.filter(workflow=workflow).first()
    if run is None:
        run = WorkflowRun.objects.create(workflow=workflow, number=1, state="failed")
        TaskRun.objects.create(run=run, task_name="step", state="failed", attempt=1)
    return run


# (role, how the role was given); "none" and "superuser" are given nothing.
CASES = [("none", "-"), ("superuser", "-")] + [
    (role, how)
    for role in ("viewer", "operator", "editor", "owner")
    for how in ("to the user", "to a group", "on all workflows")
]


@dataclass
class World:
    user: object
    granted: object
    other: object
    bystander: object
    is_global: bool


@pytest.fixture
def world_for(db):
    def build(role: str, how: str) -> World:
        granted, other = make_workflow("granted_flow"), make_workflow("other_flow")
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
        return World(user, granted, other, bystander, is_global=how == "on all workflows")

    return build


def expected(role: str, need: str, world: World, on_granted: bool):
    table = ON_GRANTED if on_granted or world.is_global else ON_OTHER
    return table[need][ROLES.index(role)]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
@pytest.mark.parametrize("role, how", CASES)
@pytest.mark.parametrize("on_granted", [True, False], ids=["granted", "other"])
def test_it_answers_each_page_as_the_table_says(client, world_for, page, role, how, on_granted):
    world = world_for(role, how)
    workflow = world.granted if on_granted else world.other
    client.force_login(world.user)

    response = getattr(client, page.method)(page.url(workflow), page.data(world))

    want = expected(role, page.need, world, on_granted)
    assert response.status_code == (page.ok if want == ALLOWED else want)


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
            assert permissions.get_workflow_for(world.user, workflow.slug, need) == workflow
        else:
            raised = Http404 if want == 404 else PermissionDenied
            with pytest.raises(raised):
                permissions.get_workflow_for(world.user, workflow.slug, need)


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
            permissions.get_workflow_for(nobody, "some_flow")


def test_it_shows_inactive_workflows_for_their_history(db):
    workflow = make_workflow("retired_flow", is_active=False)
    user = make_user("viewer")
    give_role(user, "viewer", workflow)

    assert permissions.get_workflow_for(user, "retired_flow") == workflow
    assert permissions.workflows_for(user).filter(slug="retired_flow").exists()


def test_it_answers_404_for_a_workflow_that_does_not_exist(db):
    with pytest.raises(Http404):
        permissions.get_workflow_for(make_user("root", superuser=True), "no_such_flow")


def test_it_refuses_an_unknown_need(db):
    with pytest.raises(ValueError, match="unknown need 'delete'"):
        permissions.workflows_for(make_user("someone"), "delete")
