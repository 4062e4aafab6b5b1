"""Changes made in the Django admin are recorded; the audit list there is read-only for everyone."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_celery_beat.models import CrontabSchedule

from accounts.testing import make_user, make_workflow
from audit.models import AuditEvent
from audit.recorder import Verb, record_event
from audit.testing import AuditTrail
from workflows.models import Workflow, WorkflowSchedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(client, settings):
    user = make_user("root", superuser=True)
    client.force_login(user)
    return user


def test_a_workflow_paused_in_the_admin_is_recorded_as_on_its_page(client, root):
    payroll = make_workflow("payroll", title="Payroll export")
    trail = AuditTrail()

    response = client.post(
        "/admin/workflows/workflow/",
        {"action": "pause_selected", "_selected_action": [payroll.pk]},
        REMOTE_ADDR="198.51.100.4",
    )

    assert response.status_code == 302
    assert Workflow.objects.get(pk=payroll.pk).is_paused
    event = trail.only()
    assert (event.verb, event.actor, event.workflow_slug, event.ip_address) == (
        "workflow.paused",
        root,
        "payroll",
        "198.51.100.4",
    )
    assert (event.object_type, event.object_id, event.object_label) == (
        "workflows.workflow",
        str(payroll.pk),
        "Payroll export",
    )


def test_it_records_a_workflow_deleted_in_the_admin(client, root):
    payroll = make_workflow("payroll", title="Payroll export", is_active=False)  # not in code
    trail = AuditTrail()

    client.post(f"/admin/workflows/workflow/{payroll.pk}/delete/", {"post": "yes"})

    assert not Workflow.objects.filter(pk=payroll.pk).exists()
    event = trail.only()
    assert (event.verb, event.object_id, event.object_label, event.workflow_slug) == (
        "admin.deleted",
        str(payroll.pk),
        "Payroll export",
        "payroll",
    )


def test_it_records_a_user_added_in_the_admin_without_the_password(client, root):
    trail = AuditTrail()

    response = client.post(
        "/admin/auth/user/add/",
        {
            "username": "carol",
            "usable_password": "true",
            "password1": "a long Pass phrase 42",
            "password2": "a long Pass phrase 42",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    carol = get_user_model().objects.get(username="carol")
    event = trail.only()
    assert (event.verb, event.actor, event.object_type, event.object_id) == (
        "admin.added",
        root,
        "auth.user",
        str(carol.pk),
    )
    assert event.details["change"] == "Added."
    assert "Pass phrase" not in event.details_text


def test_it_records_a_user_made_superuser_with_before_and_after(client, root):
    carol = make_user("carol")
    trail = AuditTrail()

    client.post(
        f"/admin/auth/user/{carol.pk}/change/",
        {
            "username": "carol",
            "is_active": "on",
            "is_superuser": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "09:00:00",
        },
    )

    event = trail.only()
    assert (event.verb, event.object_label) == ("admin.changed", "carol")
    assert event.details["changes"]["is_superuser"] == {"before": False, "after": True}


def test_it_masks_a_password_changed_in_the_admin(client, root):
    carol = make_user("carol", password="old password 1")
    old_hash = get_user_model().objects.get(pk=carol.pk).password
    trail = AuditTrail()

    response = client.post(
        f"/admin/auth/user/{carol.pk}/password/",
        {"password1": "new Password 2 long", "password2": "new Password 2 long"},
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    event = trail.only()
    assert (event.verb, event.object_label) == ("admin.changed", "carol")
    assert event.details["changes"]["password"] == "********"
    assert old_hash not in event.details_text


def test_it_records_a_group_added_and_deleted_in_the_admin(client, root):
    trail = AuditTrail()

    client.post("/admin/auth/group/add/", {"name": "Accounting"})
    group = Group.objects.get(name="Accounting")
    client.post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"})

    added, deleted = trail.events()
    assert (added.verb, added.object_type, added.object_label) == (
        "admin.added",
        "auth.group",
        "Accounting",
    )
    assert (deleted.verb, deleted.object_id, deleted.object_label) == (
        "admin.deleted",
        str(group.pk),
        "Accounting",
    )


def test_it_records_each_object_of_a_bulk_delete(client, root):
    groups = [Group.objects.create(name=name) for name in ("Night shift", "Day shift")]
    trail = AuditTrail()

    client.post(
        "/admin/auth/group/",
        {"action": "delete_selected", "_selected_action": [g.pk for g in groups], "post": "yes"},
    )

    assert not Group.objects.filter(name__endswith="shift").exists()
    assert sorted((e.verb, e.object_label, e.actor_label) for e in trail.events()) == [
        ("admin.deleted", "Day shift", "root"),
        ("admin.deleted", "Night shift", "root"),
    ]


def test_it_records_a_schedule_added_in_the_admin_as_a_schedule_event(client, root):
    payroll = make_workflow("payroll")
    cron = CrontabSchedule.objects.create(minute="0", hour="6", timezone="UTC")
    trail = AuditTrail()

    client.post(
        "/admin/workflows/workflowschedule/add/",
        {"workflow": payroll.pk, "name": "Payroll at six", "crontab": cron.pk, "parameters": "{}"},
    )

    schedule = WorkflowSchedule.objects.get(workflow=payroll)
    event = trail.only()
    assert (event.verb, event.actor, event.object_id, event.workflow_slug) == (
        "schedule.created",
        root,
        str(schedule.pk),
        "payroll",
    )
    assert event.details["source"] == "admin"


def test_it_records_a_schedules_timing_changed_in_the_admin_before_and_after(client, root):
    payroll = make_workflow("payroll")
    six, seven = (
        CrontabSchedule.objects.create(minute="0", hour=hour, timezone="UTC") for hour in "67"
    )
    form = {"workflow": payroll.pk, "name": "Payroll", "crontab": six.pk, "parameters": "{}"}
    client.post("/admin/workflows/workflowschedule/add/", form)
    schedule = WorkflowSchedule.objects.get(workflow=payroll)
    trail = AuditTrail()

    client.post(
        f"/admin/workflows/workflowschedule/{schedule.pk}/change/", form | {"crontab": seven.pk}
    )

    event = trail.only()
    assert (event.verb, event.object_id, event.workflow_slug) == (
        "schedule.changed",
        str(schedule.pk),
        "payroll",
    )
    timing_row = f"django_celery_beat.periodictask {schedule.periodic_task_id}"
    assert event.details["related_changes"][timing_row]["crontab"] == {
        "before": str(six),
        "after": str(seven),
    }


def test_it_records_admin_changes_without_the_middleware_too(client, settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if "AuditRequestMiddleware" not in m]
    client.force_login(make_user("root", superuser=True))
    trail = AuditTrail()

    client.post("/admin/auth/group/add/", {"name": "Accounting"})

    event = trail.only()
    assert (event.verb, event.actor_label, event.ip_address) == ("admin.added", "root", "")


# --- The audit list in the admin ------------------------------------------------------------------


@pytest.fixture
def event(root):
    return record_event(verb=Verb.LOGIN, actor=root, details={"method": "password"})


def test_a_superuser_sees_an_event_read_only(client, event):
    response = client.get(f"/admin/audit/auditevent/{event.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "&quot;method&quot;: &quot;password&quot;" in page
    assert 'name="_save"' not in page
    assert response.context["has_change_permission"] is False


def test_a_superuser_cannot_change_an_event_in_the_admin(client, event):
    response = client.post(
        f"/admin/audit/auditevent/{event.pk}/change/", {"actor_label": "mallory"}
    )

    assert response.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).actor_label == "root"


def test_a_superuser_cannot_delete_an_event_in_the_admin(client, event):
    response = client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_a_superuser_cannot_delete_events_from_the_admin_list(client, event):
    listing = client.get("/admin/audit/auditevent/")
    response = client.post(
        "/admin/audit/auditevent/",
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )

    assert listing.status_code == 200
    assert "delete_selected" not in listing.content.decode()
    assert response.status_code in (200, 302)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_a_superuser_cannot_add_an_event_in_the_admin(client, root):
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
