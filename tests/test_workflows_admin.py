"""Workflows in the admin: pausing goes through pause_workflow, per workflow the user may change;
code-declared workflows cannot be deleted; guardian's permission pages are for superusers."""

import pytest
from django.contrib.auth.models import Permission
from guardian.shortcuts import get_perms

from accounts.testing import give_role, make_user, make_workflow
from audit.testing import AuditTrail
from workflows.models import Workflow

pytestmark = pytest.mark.django_db

LIST = "/admin/workflows/workflow/"


@pytest.fixture
def payroll():
    return make_workflow("payroll", title="Payroll export")


@pytest.fixture
def billing():
    return make_workflow("billing", title="Billing")


@pytest.fixture
def ed(payroll):
    """Staff who sees every workflow (global Viewer) and may change payroll only."""
    user = make_user("ed", is_staff=True)
    give_role(user, "viewer")
    give_role(user, "editor", payroll)
    return user


def act(client, action: str, *workflows):
    return client.post(
        LIST, {"action": action, "_selected_action": [w.pk for w in workflows]}, follow=True
    )


def paused(*workflows) -> list[bool]:
    return [Workflow.objects.get(pk=w.pk).is_paused for w in workflows]


def test_a_staff_user_pauses_only_the_workflows_they_may_change(client, ed, payroll, billing):
    client.force_login(ed)
    trail = AuditTrail()

    page = act(client, "pause_selected", payroll, billing).content.decode()

    assert "Refused for billing: you may not change this workflow;" in page
    assert "1 workflow(s) paused." in page
    assert paused(payroll, billing) == [True, False]
    event = trail.only()
    assert (event.verb, event.actor, event.workflow_slug) == ("workflow.paused", ed, "payroll")


def test_unpausing_goes_through_the_service_too(admin_client, payroll):
    Workflow.objects.filter(pk=payroll.pk).update(is_paused=True)
    trail = AuditTrail()

    act(admin_client, "unpause_selected", payroll)
    act(admin_client, "unpause_selected", payroll)  # already unpaused: nothing more

    assert paused(payroll) == [False]
    assert [(e.verb, e.workflow_slug) for e in trail.events()] == [("workflow.unpaused", "payroll")]


def test_the_change_form_does_not_flip_is_paused(admin_client, payroll):
    trail = AuditTrail()

    admin_client.post(
        f"{LIST}{payroll.pk}/change/",
        {"is_paused": "on", "tasks-TOTAL_FORMS": "0", "tasks-INITIAL_FORMS": "0"},
    )

    assert paused(payroll) == [False]
    assert trail.events(verb="workflow.paused") == []


def test_a_code_declared_workflow_cannot_be_deleted(admin_client, payroll):
    listing = admin_client.get(LIST).content.decode()
    response = admin_client.post(f"{LIST}{payroll.pk}/delete/", {"post": "yes"})

    assert "delete_selected" not in listing
    assert response.status_code == 403
    assert Workflow.objects.filter(pk=payroll.pk).exists()


def test_a_workflow_removed_from_the_code_may_be_deleted_by_who_manages_it(client, ed, payroll):
    Workflow.objects.filter(pk=payroll.pk).update(is_active=False)
    ed.user_permissions.add(*_permissions("delete_workflow"))
    client.force_login(ed)

    refused = client.post(f"{LIST}{payroll.pk}/delete/", {"post": "yes"})  # an Editor only
    give_role(ed, "owner", payroll)
    client.force_login(ed)  # a fresh user object: permissions are cached per request
    allowed = client.post(f"{LIST}{payroll.pk}/delete/", {"post": "yes"})

    assert refused.status_code == 403
    assert allowed.status_code == 302
    assert not Workflow.objects.filter(pk=payroll.pk).exists()


def test_guardian_permission_pages_send_others_to_the_access_page(client, ed, payroll):
    client.force_login(ed)
    give_role(ed, "editor")  # global change: what guardian's own check asks for

    page = client.get(f"{LIST}{payroll.pk}/permissions/")
    grant = client.post(
        f"{LIST}{payroll.pk}/permissions/user-manage/{ed.pk}/",
        {"permissions": ["view_workflow", "manage_workflow"]},
    )

    assert page.status_code == grant.status_code == 302
    assert grant["Location"] == "/workflows/payroll/access/"
    assert "manage_workflow" not in get_perms(ed, payroll)


def _permissions(codename: str):
    return Permission.objects.filter(content_type__app_label="workflows", codename=codename)
