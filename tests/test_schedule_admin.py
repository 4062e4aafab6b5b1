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


# --- Timing typed in place, parameters as the workflow's form ------------------------------------


def test_an_admin_types_a_cron_expression_and_fills_the_parameters_as_a_form(admin_client):
    workflow = Workflow.objects.get(slug="sales_report")
    add = f"/admin/workflows/workflowschedule/add/?workflow={workflow.pk}"

    page = admin_client.get(add).content.decode()
    response = admin_client.post(
        add,
        {
            "workflow": workflow.pk,
            "name": "South on working days",
            "cron": "0 6 * * 1-5",
            "enabled": "on",
            "param_region": "south",
            "param_top_n": "5",
            "param_threshold": "2500",
            "param_recipients": "ops@example.com",
        },
    )

    assert 'name="param_region"' in page and 'name="parameters"' not in page
    assert response.status_code == 302, response.content.decode()[:3000]
    schedule = WorkflowSchedule.objects.get(periodic_task__name="South on working days")
    cron = schedule.periodic_task.crontab
    assert (cron.minute, cron.hour, cron.day_of_week) == ("0", "6", "1-5")
    assert schedule.parameters["region"] == "south" and schedule.parameters["top_n"] == 5
    assert schedule.parameters["dry_run"] is False  # an unticked box


def test_a_bad_cron_or_parameter_is_an_error_beside_it_and_saves_nothing(admin_client):
    workflow = Workflow.objects.get(slug="sales_report")
    add = f"/admin/workflows/workflowschedule/add/?workflow={workflow.pk}"
    before = PeriodicTask.objects.count()

    bad_cron = admin_client.post(
        add, {"workflow": workflow.pk, "name": "X", "cron": "61 * * * *", "param_region": "north"}
    )
    bad_value = admin_client.post(
        add,
        {
            "workflow": workflow.pk,
            "name": "Y",
            "every": "2",
            "every_unit": "hours",
            "param_region": "mars",
            "param_top_n": "1",
            "param_threshold": "1",
        },
    )

    assert "cron schedule &#x27;61 * * * *&#x27; is invalid" in bad_cron.content.decode()
    assert "“mars” is not a valid choice" in bad_value.content.decode()
    assert PeriodicTask.objects.count() == before


def test_an_interval_or_a_one_off_time_is_typed_in_place(admin_client):
    workflow = Workflow.objects.get(slug="backup_files")
    add = "/admin/workflows/workflowschedule/add/"

    admin_client.post(
        add,
        {
            "workflow": workflow.pk,
            "name": "Every 2 h",
            "every": "2",
            "every_unit": "hours",
            "parameters": "{}",
        },
    )
    admin_client.post(
        add,
        {
            "workflow": workflow.pk,
            "name": "Once",
            "once_at": "2030-01-02T03:04",
            "parameters": "{}",
        },
    )

    every = PeriodicTask.objects.get(name="Every 2 h")
    once = PeriodicTask.objects.get(name="Once")
    assert (every.interval.every, every.interval.period) == (2, "hours")
    assert once.clocked.clocked_time.isoformat() == "2030-01-02T03:04:00+00:00" and once.one_off
