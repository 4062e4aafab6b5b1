"""The run form and its "run again" pre-fill, for bad input and cleared fields.

A cleared field never starts the run with the default the user erased: it is None
for an ``X | None`` parameter, and an error beside the field for any other.
"""

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from runs.models import WorkflowRun
from runs.scheduler import DueSlot, start_scheduled_run
from runs.testing import use_workflows
from workflows.models import Workflow, WorkflowSchedule

from .pages_world import make_run, page_world, write_workflows
from .test_pages_run_form import error_beside

REPORT = reverse("workflows:run", args=["report"])  # region="north", top=3, day=None, dry_run
SALES = reverse("workflows:run", args=["sales_report"])  # the demo, with recipients
SALES_FORM = {"region": "south", "top_n": "3", "threshold": "2500", "recipients": "a@example.com"}


@pytest.fixture
def world(db, tmp_path):
    with page_world(tmp_path) as built:
        yield built


def test_a_nul_in_a_text_area_is_a_message_beside_it_and_starts_nothing(admin_client):
    response = admin_client.post(SALES, {**SALES_FORM, "recipients": "\x00x"})

    page = response.content.decode()
    assert response.status_code == 400
    assert error_beside(page, "recipients") == "Text may not contain NUL (\\u0000) characters."
    assert not WorkflowRun.objects.exists()


def test_a_value_outside_the_safe_whole_numbers_is_a_message_beside_it(admin_client):
    response = admin_client.post(SALES, {**SALES_FORM, "top_n": str(2**53)})

    page = response.content.decode()
    assert response.status_code == 400
    assert error_beside(page, "top_n") == (
        "Must be between -9007199254740991 and 9007199254740991."
    )
    assert re.search(r'name="top_n" value="9007199254740992" min="-9007199254740991"', page)
    assert not WorkflowRun.objects.exists()


def test_a_cleared_field_with_a_default_is_an_error_beside_it(client, world):
    client.force_login(world.operator)

    response = client.post(REPORT, {"region": "south", "top": "", "day": ""})

    page = response.content.decode()
    assert response.status_code == 400
    assert error_beside(page, "top") == "This field is required."
    assert error_beside(page, "day") == ""
    assert not WorkflowRun.objects.exists()


def test_a_cleared_optional_field_starts_the_run_with_none(client, world):
    client.force_login(world.operator)

    response = client.post(REPORT, {"region": "south", "top": "2", "day": ""})

    assert response.status_code == 302
    assert WorkflowRun.objects.get().parameters["day"] is None


DIGEST = """
from workflows import task, workflow


@task
def send(limit: int | None, top: int) -> int:
    return top


@workflow
def digest(limit: int | None = 10, top: int = 3):
    send(limit, top)
"""


def test_run_again_keeps_an_optional_value_that_was_none_whatever_its_default(
    admin_client, tmp_path
):
    with use_workflows(write_workflows(tmp_path / "digest", DIGEST)):
        old = make_run(Workflow.objects.get(slug="digest"), parameters={"limit": None, "top": 4})
        url = reverse("workflows:run", args=["digest"])

        page = admin_client.get(f"{url}?from_run={old.pk}").content.decode()
        admin_client.post(url, {"limit": "", "top": "4"})

    assert re.search(r'<input type="number" name="limit" min="[^"]*" max="[^"]*" id=', page)
    assert error_beside(page, "limit") == ""
    assert WorkflowRun.objects.latest("pk").parameters == {"limit": None, "top": 4}


def test_run_again_flags_a_null_for_a_parameter_that_is_not_optional(client, world):
    # "top" was "int | None" in an older version of the code; it is "int = 3" now.
    old = make_run(world.report, parameters={"region": "south", "top": None})
    client.force_login(world.operator)

    page = client.get(f"{REPORT}?from_run={old.pk}").content.decode()

    message = error_beside(page, "top")
    assert f"Run #{old.number} used “null” here, which no longer fits:" in message
    assert "This field is required." in message
    assert not re.search(r'name="top" value="3"', page)  # not silently the default


# --- A schedule's parameters, in the admin ------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ('{"recipients": ["\\u0000"]}', "Text may not contain NUL (\\u0000) characters."),
        ('{"\\ud800": 1}', "Text may not contain lone surrogates"),
        ('{"top_n": null}', "These values do not fit the workflow: top_n: This field is required."),
    ],
)
def test_a_schedule_s_parameters_are_checked_by_the_same_validator(
    admin_client, parameters, message
):
    cron = CrontabSchedule.objects.create(minute="0", hour="6")

    response = admin_client.post(
        "/admin/workflows/workflowschedule/add/",
        {
            "workflow": Workflow.objects.get(slug="sales_report").pk,
            "name": "Bad text",
            "crontab": cron.pk,
            "parameters": parameters,
        },
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not PeriodicTask.objects.filter(name="Bad text").exists()


def test_a_schedule_whose_parameters_no_longer_fit_skips_its_slot_and_says_why(db, caplog):
    cron = CrontabSchedule.objects.create(minute="0", hour="6")
    task = PeriodicTask.objects.create(name="Old values", crontab=cron, task="baton")
    WorkflowSchedule.objects.create(
        periodic_task=task,
        workflow=Workflow.objects.get(slug="sales_report"),
        parameters={"top_n": None},  # fitted "top_n: int | None" before a deploy
    )
    slot = timezone.now().replace(microsecond=0)

    assert start_scheduled_run(DueSlot(at=slot, task_id=task.pk)) is None

    assert not WorkflowRun.objects.exists()
    assert PeriodicTask.objects.get(pk=task.pk).last_run_at == slot
    assert "Schedule Old values did not start: invalid parameters: top_n:" in caplog.text
