"""The paused rule, stated once in ``trigger_run``: a paused workflow's schedule starts no run;
people still start runs by hand (page, API, command line, backfill)."""

from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from runs.models import WorkflowRun
from runs.scheduler import Scheduler
from runs.services import WorkflowPaused, trigger_run
from runs.testing import stub_broker, use_workflows
from tests.test_scheduler import NOON, WORKFLOWS, Clock
from workflows.models import Workflow


@pytest.fixture
def loaded(db):
    with use_workflows(WORKFLOWS), stub_broker() as broker:
        PeriodicTask.objects.filter(baton_schedule__workflow__slug="hourly_report").update(
            last_run_at=NOON
        )
        yield broker


def pause(slug: str, paused: bool = True) -> None:
    Workflow.objects.filter(slug=slug).update(is_paused=paused)


def runs_of(slug: str) -> list[tuple[str, datetime | None]]:
    return list(
        WorkflowRun.objects.filter(workflow__slug=slug)
        .order_by("pk")
        .values_list("trigger", "logical_date")
    )


def test_a_slot_due_while_paused_passes_and_is_not_started_late_after_unpausing(loaded):
    pause("hourly_report")
    clock = Clock(NOON + timedelta(hours=3, minutes=1))
    scheduler = Scheduler(clock=clock)
    scheduler.tick()

    assert runs_of("hourly_report") == []
    task = PeriodicTask.objects.get(baton_schedule__workflow__slug="hourly_report")
    assert task.last_run_at == NOON + timedelta(hours=3)  # the 15:00 slot has passed

    pause("hourly_report", False)
    clock.now += timedelta(minutes=1)
    scheduler.book.version = None  # reads the schedules afresh, as after a restart
    scheduler.tick()
    assert runs_of("hourly_report") == []

    clock.now = NOON + timedelta(hours=4, seconds=1)
    scheduler.tick()
    assert runs_of("hourly_report") == [("schedule", NOON + timedelta(hours=4))]


def test_a_pause_pressed_as_the_slot_comes_due_wins(loaded):
    stale = Workflow.objects.get(slug="hourly_report")  # read before the pause
    pause("hourly_report")

    with pytest.raises(WorkflowPaused, match="is paused: it starts no scheduled run"):
        trigger_run(workflow=stale, parameters={}, trigger=WorkflowRun.Trigger.SCHEDULE)

    assert runs_of("hourly_report") == []


@pytest.mark.parametrize("trigger", ["manual", "api", "backfill"])
def test_a_person_still_starts_a_paused_workflow(loaded, trigger):
    pause("hourly_report")

    run = trigger_run(
        workflow=Workflow.objects.get(slug="hourly_report"), parameters={}, trigger=trigger
    )

    assert (run.trigger, run.state) == (trigger, "running")
    assert Workflow.objects.get(slug="hourly_report").is_paused


def test_the_command_line_starts_a_paused_workflow(loaded, capsys):
    pause("hourly_report")

    call_command("trigger", "hourly_report")

    assert [trigger for trigger, _ in runs_of("hourly_report")] == ["command_line"]
