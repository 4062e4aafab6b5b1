"""Admins add and edit workflow schedules in the Django admin."""

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from workflows.models import Workflow, WorkflowSchedule

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
