"""Admins add and edit workflow schedules in the Django admin."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from accounts.testing import give_role
from workflows.models import Workflow, WorkflowSchedule

User = get_user_model()

pytestmark = pytest.mark.django_db


@pytest.fixture
def cron_row():
    return CrontabSchedule.objects.create(minute="0", hour="6", timezone="Europe/Paris")


def test_an_admin_adds_a_schedule_with_parameters(admin_client, cron_row):
    workflow = Workflow.objects.get(slug="sales_report")
    response = admin_client.post(
        "/admin/workflows/workflowschedule/add/",
        {
            "workflow": workflow.pk,
            "name": "South every morning",
            "crontab": cron_row.pk,
            "enabled": "on",
            "parameters": '{"region": "south", "top_n": 5}',
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    schedule = WorkflowSchedule.objects.get(workflow=workflow)
    assert schedule.parameters == {"region": "south", "top_n": 5}
    assert schedule.owner == "admin"
    assert schedule.periodic_task.name == "South every morning"
    assert schedule.periodic_task.crontab == cron_row


def test_parameters_that_do_not_fit_the_workflow_are_refused(admin_client, cron_row):
    workflow = Workflow.objects.get(slug="sales_report")
    response = admin_client.post(
        "/admin/workflows/workflowschedule/add/",
        {
            "workflow": workflow.pk,
            "name": "Bad",
            "crontab": cron_row.pk,
            "parameters": '{"region": "mars"}',
        },
    )
    assert response.status_code == 200
    assert "These values do not fit the workflow: region:" in response.content.decode()
    assert not PeriodicTask.objects.filter(name="Bad").exists()


def test_a_schedule_needs_exactly_one_timing(admin_client):
    workflow = Workflow.objects.get(slug="sales_report")
    response = admin_client.post(
        "/admin/workflows/workflowschedule/add/",
        {"workflow": workflow.pk, "name": "None", "parameters": "{}"},
    )
    assert "Choose exactly one of crontab, interval or clocked." in response.content.decode()


def test_the_list_shows_the_schedule_in_words(admin_client):
    response = admin_client.get("/admin/workflows/workflowschedule/")
    assert "every day at 03:00, UTC" in response.content.decode()  # flaky_import's, from code


# --- Staff edit the schedules of the workflows they may change ------------------------------------


@pytest.fixture
def ed(db):
    """Staff with the admin's schedule rights, who sees every workflow, Editor of sales_report."""
    user = User.objects.create_user("ed", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="workflows",
            codename__in=[f"{verb}_workflowschedule" for verb in ("add", "change", "view")],
        )
    )
    give_role(user, "viewer")
    give_role(user, "editor", Workflow.objects.get(slug="sales_report"))
    return user


def test_a_staff_user_cannot_edit_the_schedule_of_a_workflow_they_may_not_change(client, ed):
    schedule = WorkflowSchedule.objects.get(workflow__slug="flaky_import")
    before = PeriodicTask.objects.filter(pk=schedule.periodic_task_id).values().get()
    client.force_login(ed)

    response = client.post(
        f"/admin/workflows/workflowschedule/{schedule.pk}/change/",
        {
            "workflow": schedule.workflow_id,
            "name": "Taken over",
            "interval": IntervalSchedule.objects.create(every=1, period="minutes").pk,
            "enabled": "on",
            "parameters": "{}",
        },
    )

    assert response.status_code == 403
    assert PeriodicTask.objects.filter(pk=schedule.periodic_task_id).values().get() == before
    assert WorkflowSchedule.objects.get(pk=schedule.pk).owner == schedule.owner


def test_a_staff_user_adds_schedules_only_to_workflows_they_may_change(client, ed, cron_row):
    client.force_login(ed)
    form = {"name": "Mine", "crontab": cron_row.pk, "enabled": "on", "parameters": "{}"}
    flaky, sales = (Workflow.objects.get(slug=slug) for slug in ("flaky_import", "sales_report"))

    refused = client.post("/admin/workflows/workflowschedule/add/", form | {"workflow": flaky.pk})
    allowed = client.post("/admin/workflows/workflowschedule/add/", form | {"workflow": sales.pk})

    assert "Select a valid choice" in refused.content.decode()
    assert allowed.status_code == 302
    assert list(
        PeriodicTask.objects.filter(name="Mine").values_list(
            "baton_schedule__workflow__slug", flat=True
        )
    ) == ["sales_report"]
