"""Giving and taking roles: the rules of grant_role/revoke_role, the Access page, role groups."""

import importlib

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from guardian.shortcuts import assign_perm

from accounts import permissions
from accounts.roles import Role
from accounts.selectors import object_permissions_of
from accounts.services import AccessChangeError, grant_role, revoke_role
from accounts.testing import give_role, make_user, make_workflow
from runs.access import run_for
from runs.models import WorkflowRun


@pytest.fixture
def payroll(db):
    return make_workflow("payroll", title="Payroll export")


@pytest.fixture
def owner(payroll):
    user = make_user("olivia", first_name="Olivia", last_name="Owner")
    give_role(user, "owner", payroll)
    return user


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)  # without cached permissions


def access_url(workflow):
    return reverse("accounts:workflow_access", args=[workflow.slug])


# --- The rules -----------------------------------------------------------------------------------


def test_an_owner_gives_a_role_and_it_works(payroll, owner):
    bob = make_user("bob")

    grant_role(workflow=payroll, role="operator", to_user=bob, by=owner)

    assert permissions.can(fresh(bob), "trigger", payroll)
    assert not permissions.can(fresh(bob), "change", payroll)


def test_giving_a_new_role_replaces_the_old_one(payroll, owner):
    bob = make_user("bob")
    grant_role(workflow=payroll, role="editor", to_user=bob, by=owner)

    grant_role(workflow=payroll, role="viewer", to_user=bob, by=owner)

    assert object_permissions_of(bob, payroll) == Role.VIEWER.permissions


def test_it_gives_a_role_to_a_group_and_so_to_its_members(payroll, owner):
    team = Group.objects.create(name="Finance")
    bob = make_user("bob")
    team.user_set.add(bob)

    grant_role(workflow=payroll, role="viewer", to_group=team, by=owner)

    assert permissions.can(fresh(bob), "view", payroll)


def test_nobody_gives_a_role_they_do_not_hold(payroll):
    # Can manage, but cannot change: an Editor role is above what they hold.
    manager = make_user("manager")
    for codename in ("view_workflow", "trigger_workflow", "manage_workflow"):
        assign_perm(codename, manager, payroll)
    bob = make_user("bob")

    with pytest.raises(AccessChangeError, match="cannot give the Editor role"):
        grant_role(workflow=payroll, role="editor", to_user=bob, by=fresh(manager))

    grant_role(workflow=payroll, role="operator", to_user=bob, by=fresh(manager))
    assert object_permissions_of(bob, payroll) == Role.OPERATOR.permissions


def test_nobody_lowers_someone_who_holds_more_than_they_do(payroll, owner):
    manager = make_user("manager")
    for codename in ("view_workflow", "manage_workflow"):
        assign_perm(codename, manager, payroll)

    with pytest.raises(AccessChangeError, match="more rights than you"):
        grant_role(workflow=payroll, role="viewer", to_user=owner, by=fresh(manager))
    with pytest.raises(AccessChangeError, match="more rights than you"):
        revoke_role(workflow=payroll, from_user=owner, by=fresh(manager))

    assert object_permissions_of(owner, payroll) == Role.OWNER.permissions


@pytest.mark.parametrize("role", ["viewer", "operator", "editor"])
def test_only_those_who_may_manage_give_roles(payroll, role):
    someone = make_user("someone")
    give_role(someone, role, payroll)

    with pytest.raises(AccessChangeError, match="may not change who has access"):
        grant_role(workflow=payroll, role="viewer", to_user=make_user("bob"), by=fresh(someone))


def test_it_names_an_unknown_role(payroll, owner):
    with pytest.raises(
        AccessChangeError, match="Unknown role “admin”. Roles are: Viewer, Preset runner, Oper"
    ):
        grant_role(workflow=payroll, role="admin", to_user=make_user("bob"), by=owner)


def test_an_owner_removes_a_role(payroll, owner):
    bob = make_user("bob")
    give_role(bob, "editor", payroll)

    revoke_role(workflow=payroll, from_user=bob, by=owner)

    assert not permissions.can(fresh(bob), "view", payroll)


def test_a_superuser_gives_any_role(payroll):
    root = make_user("root", superuser=True)
    bob = make_user("bob")

    grant_role(workflow=payroll, role="owner", to_user=bob, by=root)

    assert permissions.can(fresh(bob), "manage", payroll)


# --- The Access page -----------------------------------------------------------------------------


def test_the_access_page_lists_who_holds_which_role_and_how(client, payroll, owner):
    finance = Group.objects.create(name="Finance")
    finance.user_set.add(make_user("fiona"))
    give_role(finance, "operator", payroll)
    give_role(make_user("gina"), "viewer")  # on all workflows
    make_user("root", superuser=True)
    client.force_login(owner)

    page = client.get(access_url(payroll)).content.decode()

    on_workflow, _give_access, on_all = page.split('<section class="card">')[1:]
    finance_row, olivia_row = on_workflow.split("<tr>")[2:]  # groups first, then by role
    assert "Finance" in finance_row and "fiona" in finance_row
    assert "Operator</span>" in finance_row
    assert "Olivia Owner" in olivia_row and "Owner</span>" in olivia_row
    assert "gina" in on_all and "Viewer</span>" in on_all
    assert "root" in on_all and "Administrator (everything)" in on_all


def test_an_owner_gives_access_by_email_on_the_access_page(client, payroll, owner):
    bob = make_user("bob", email="Bob@Example.com")
    client.force_login(owner)

    response = client.post(
        access_url(payroll), {"user": "bob@example.com", "role": "operator"}, follow=True
    )

    assert "bob is now Operator of this workflow." in response.content.decode()
    assert object_permissions_of(bob, payroll) == Role.OPERATOR.permissions


def test_an_owner_gives_access_to_a_group_on_the_access_page(client, payroll, owner):
    team = Group.objects.create(name="Finance")
    client.force_login(owner)

    client.post(access_url(payroll), {"group": team.pk, "role": "viewer"})

    assert object_permissions_of(team, payroll) == Role.VIEWER.permissions


@pytest.mark.parametrize(
    "data, message",
    [
        ({"user": "nobody", "role": "viewer"}, "No user has the username or email “nobody”"),
        ({"user": "", "role": "viewer"}, "Enter a user or choose a group (one of the two)."),
        ({"user": "bob", "role": "emperor"}, "Select a valid choice. emperor is not one of"),
        ({"user": "bob", "group": "999", "role": "viewer"}, "Select a valid choice."),
    ],
)
def test_the_access_page_names_what_is_wrong(client, payroll, owner, data, message):
    make_user("bob")
    client.force_login(owner)

    response = client.post(access_url(payroll), data)

    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_access_page_refuses_a_role_above_ones_own(client, payroll):
    manager = make_user("manager")
    for codename in ("view_workflow", "manage_workflow"):
        assign_perm(codename, manager, payroll)
    bob = make_user("bob")
    client.force_login(manager)

    response = client.post(access_url(payroll), {"user": "bob", "role": "owner"})

    assert response.status_code == 400
    assert "You cannot give the Owner role" in response.content.decode()
    assert object_permissions_of(bob, payroll) == frozenset()


def test_an_owner_removes_access_on_the_access_page(client, payroll, owner):
    bob = make_user("bob")
    give_role(bob, "viewer", payroll)
    client.force_login(owner)

    response = client.post(
        reverse("accounts:workflow_access_remove", args=[payroll.slug]),
        {"user": bob.pk},
        follow=True,
    )

    assert "bob no longer has a role on this workflow." in response.content.decode()
    assert object_permissions_of(bob, payroll) == frozenset()


@pytest.mark.parametrize("data", [{"user": "999999"}, {"user": "not-a-number"}, {}])
def test_removing_nobody_says_so(client, payroll, owner, data):
    client.force_login(owner)

    response = client.post(
        reverse("accounts:workflow_access_remove", args=[payroll.slug]), data, follow=True
    )

    assert response.status_code == 200
    assert "Nobody was removed" in response.content.decode()


# --- Role groups ---------------------------------------------------------------------------------


def test_the_data_migration_creates_the_role_groups_with_their_permissions(db):
    migration = importlib.import_module("accounts.migrations.0002_role_groups")
    Group.objects.filter(name__in=[role.group_name for role in Role]).delete()

    migration.ensure_role_groups(apps)
    migration.ensure_role_groups(apps)  # and again: it changes nothing

    groups = {
        group.name: set(group.permissions.values_list("codename", flat=True))
        for group in Group.objects.filter(name__in=[role.group_name for role in Role])
    }
    assert groups == {
        "Viewer": {"view_workflow"},
        "Runner": {"view_workflow", "trigger_presets_workflow"},
        "Operator": {"view_workflow", "trigger_workflow"},
        "Editor": {"view_workflow", "trigger_workflow", "change_workflow"},
        "Owner": {"view_workflow", "trigger_workflow", "change_workflow", "manage_workflow"},
    }


# --- One access helper per object ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "may"),
    [
        ("viewer", (True, False, False, False)),
        ("operator", (True, True, False, False)),
        ("editor", (True, True, True, False)),
        ("owner", (True, True, True, True)),
    ],
)
def test_workflow_for_says_what_each_role_may_do(payroll, role, may):
    bob = make_user("bob")
    give_role(bob, role, payroll)

    workflow, access = permissions.workflow_for(fresh(bob), "payroll")

    assert workflow == payroll
    assert (access.may_view, access.may_trigger, access.may_change, access.may_manage) == may


def test_workflow_for_refuses_with_404_unseen_and_403_with_the_need_named(payroll):
    bob = make_user("bob")
    give_role(bob, "viewer", payroll)

    with pytest.raises(PermissionDenied, match="may see workflow 'payroll' but not change it"):
        permissions.workflow_for(fresh(bob), "payroll", "change")
    with pytest.raises(Http404):
        permissions.workflow_for(make_user("carol"), "payroll")


def test_run_for_loads_the_run_and_its_workflow_in_one_query(payroll, django_assert_num_queries):
    run = WorkflowRun.objects.create(workflow=payroll, number=1)
    root = make_user("root", superuser=True)

    with django_assert_num_queries(1):  # a superuser's access costs none
        loaded, access = run_for(root, run.pk, "change")

    assert (loaded, loaded.workflow, access.may_manage) == (run, payroll, True)
    with pytest.raises(Http404, match="No such run."):
        run_for(make_user("carol"), run.pk)
