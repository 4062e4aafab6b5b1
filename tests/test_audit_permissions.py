"""Object permissions on a workflow changed outside the Access page: one event per permission."""

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm, get_group_perms, get_user_perms, remove_perm

from accounts.services import grant_role, revoke_role
from accounts.testing import give_role, make_user, make_workflow
from audit import object_permissions
from audit.testing import AuditTrail

pytestmark = pytest.mark.django_db


@pytest.fixture
def payroll():
    return make_workflow("payroll", title="Payroll export")


@pytest.fixture
def bob():
    return make_user("bob")


@pytest.fixture
def ops():
    return Group.objects.create(name="ops")


@pytest.fixture
def root(client):
    user = make_user("root", superuser=True)
    client.force_login(user)
    return user


def user_page(workflow, user) -> str:
    return f"/admin/workflows/workflow/{workflow.pk}/permissions/user-manage/{user.pk}/"


def group_page(workflow, group) -> str:
    return f"/admin/workflows/workflow/{workflow.pk}/permissions/group-manage/{group.pk}/"


def summary(events) -> list[tuple]:
    return [(event.verb, event.details["permission"]) for event in events]


# --- The admin's "Object permissions" pages ------------------------------------------------------


def test_it_records_each_permission_granted_to_a_user_in_the_admin(client, root, payroll, bob):
    trail = AuditTrail()

    response = client.post(
        user_page(payroll, bob),
        {"permissions": ["view_workflow", "trigger_workflow"]},
        REMOTE_ADDR="198.51.100.4",
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert set(get_user_perms(bob, payroll)) == {"view_workflow", "trigger_workflow"}
    events = trail.events()
    assert sorted(summary(events)) == [
        ("permission.granted", "trigger_workflow"),
        ("permission.granted", "view_workflow"),
    ]
    for event in events:
        assert (event.actor, event.actor_label, event.workflow_slug, event.ip_address) == (
            root,
            "root",
            "payroll",
            "198.51.100.4",
        )
        assert (event.object_type, event.object_id, event.object_label) == (
            "auth.user",
            str(bob.pk),
            "bob",
        )
        assert event.details == {"permission": event.details["permission"], "user": "bob"}


def test_it_records_a_permission_removed_from_a_user_in_the_admin(client, root, payroll, bob):
    assign_perm("view_workflow", bob, payroll)
    assign_perm("trigger_workflow", bob, payroll)
    trail = AuditTrail()

    response = client.post(user_page(payroll, bob), {"permissions": ["view_workflow"]})

    assert response.status_code == 302
    assert list(get_user_perms(bob, payroll)) == ["view_workflow"]
    event = trail.only()
    assert (event.verb, event.actor, event.workflow_slug) == ("permission.revoked", root, "payroll")
    assert event.details == {"permission": "trigger_workflow", "user": "bob"}


def test_it_records_nothing_when_the_admin_form_changes_nothing(client, root, payroll, bob):
    assign_perm("view_workflow", bob, payroll)
    trail = AuditTrail()

    client.post(user_page(payroll, bob), {"permissions": ["view_workflow"]})

    assert trail.events() == []


def test_it_records_permissions_changed_for_a_group_in_the_admin(client, root, payroll, ops):
    assign_perm("view_workflow", ops, payroll)
    trail = AuditTrail()

    response = client.post(group_page(payroll, ops), {"permissions": ["change_workflow"]})

    assert response.status_code == 302
    assert list(get_group_perms(ops, payroll)) == ["change_workflow"]
    events = trail.events()
    assert summary(events) == [
        ("permission.revoked", "view_workflow"),
        ("permission.granted", "change_workflow"),
    ]
    assert [event.details for event in events] == [
        {"permission": "view_workflow", "group": "ops"},
        {"permission": "change_workflow", "group": "ops"},
    ]
    assert {(e.actor, e.object_type, e.object_id, e.workflow_slug) for e in events} == {
        (root, "auth.group", str(ops.pk), "payroll")
    }


def test_an_admin_form_that_fails_halfway_keeps_no_permission_and_no_event(
    client, root, payroll, bob, monkeypatch
):
    record_event, recorded = object_permissions.record_event, []

    def record_then_fail(**kwargs):
        if recorded:
            raise RuntimeError("the audit trail is unavailable")
        recorded.append(record_event(**kwargs))

    monkeypatch.setattr(object_permissions, "record_event", record_then_fail)
    trail = AuditTrail()

    with pytest.raises(RuntimeError):
        client.post(user_page(payroll, bob), {"permissions": ["view_workflow", "trigger_workflow"]})

    assert len(recorded) == 1  # the first grant was recorded, then rolled back with the rest
    assert not UserObjectPermission.objects.filter(user=bob).exists()
    assert trail.events() == []


# --- Any other code path -------------------------------------------------------------------------


def test_it_records_guardian_shortcuts_called_without_a_request_as_system(payroll, bob):
    trail = AuditTrail()

    assign_perm("trigger_workflow", bob, payroll)
    assign_perm("trigger_workflow", bob, payroll)  # already held: get_or_create creates nothing
    remove_perm("trigger_workflow", bob, payroll)  # a queryset delete: post_delete per row

    events = trail.events()
    assert summary(events) == [
        ("permission.granted", "trigger_workflow"),
        ("permission.revoked", "trigger_workflow"),
    ]
    assert {(event.actor, event.actor_label) for event in events} == {(None, "system")}


def test_it_records_guardian_bulk_assigns(payroll, bob, ops):
    carol = make_user("carol")
    billing = make_workflow("billing")
    assign_perm("view_workflow", bob, payroll)
    trail = AuditTrail()

    assign_perm("view_workflow", [bob, carol], payroll)  # bulk_create: no post_save
    assign_perm("change_workflow", ops, [payroll, billing])

    assert sorted(
        (e.verb, e.workflow_slug, e.details["permission"], e.object_label) for e in trail.events()
    ) == [
        ("permission.granted", "billing", "change_workflow", "ops"),
        ("permission.granted", "payroll", "change_workflow", "ops"),
        ("permission.granted", "payroll", "view_workflow", "carol"),
    ]


def test_it_records_permissions_removed_with_a_deleted_user(payroll, bob):
    assign_perm("view_workflow", bob, payroll)
    trail = AuditTrail()

    bob.delete()

    event = trail.only()
    assert (event.verb, event.object_label, event.workflow_slug) == (
        "permission.revoked",
        "bob",
        "payroll",
    )
    assert event.details == {"permission": "view_workflow", "user": "bob"}


def test_it_records_nothing_for_permissions_on_other_objects(bob, ops):
    trail = AuditTrail()

    assign_perm("auth.change_group", bob, ops)
    remove_perm("auth.change_group", bob, ops)

    assert trail.events() == []


def test_a_rolled_back_change_leaves_no_event(payroll, bob):
    trail = AuditTrail()

    with pytest.raises(RuntimeError), transaction.atomic():
        assign_perm("trigger_workflow", bob, payroll)
        raise RuntimeError("the rest of the change failed")

    assert not UserObjectPermission.objects.filter(user=bob).exists()
    assert trail.events() == []


def test_a_rolled_back_removal_leaves_no_event(payroll, ops):
    assign_perm("view_workflow", ops, payroll)
    trail = AuditTrail()

    with pytest.raises(RuntimeError), transaction.atomic():
        remove_perm("view_workflow", ops, payroll)
        raise RuntimeError("the rest of the change failed")

    assert GroupObjectPermission.objects.filter(group=ops).exists()
    assert trail.events() == []


# --- Roles: one role.* event, no permission.* event ----------------------------------------------


@pytest.fixture
def olivia(payroll):
    owner = make_user("olivia")
    give_role(owner, "owner", payroll)
    return owner


def test_a_role_granted_records_one_role_event_and_no_permission_event(payroll, olivia, bob):
    trail = AuditTrail()

    grant_role(workflow=payroll, role="editor", to_user=bob, by=olivia)

    assert set(get_user_perms(bob, payroll)) == {
        "view_workflow",
        "trigger_workflow",
        "change_workflow",
    }
    event = trail.only()
    assert (event.verb, event.actor) == ("role.granted", olivia)


def test_a_role_lowered_or_revoked_records_one_role_event_each(payroll, olivia, ops):
    grant_role(workflow=payroll, role="editor", to_group=ops, by=olivia)
    trail = AuditTrail()

    grant_role(workflow=payroll, role="viewer", to_group=ops, by=olivia)
    revoke_role(workflow=payroll, from_group=ops, by=olivia)

    assert [event.verb for event in trail.events()] == ["role.granted", "role.revoked"]
    assert not GroupObjectPermission.objects.filter(group=ops).exists()


def test_permissions_written_after_a_role_change_are_recorded_again(payroll, olivia, bob):
    grant_role(workflow=payroll, role="viewer", to_user=bob, by=olivia)
    trail = AuditTrail()

    assign_perm("manage_workflow", bob, payroll)

    assert summary(trail.events()) == [("permission.granted", "manage_workflow")]
