"""Schedules: time maths on django-celery-beat rows, plain-language text, sync ownership."""

import textwrap
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
)

from workflows.models import Workflow, WorkflowSchedule
from workflows.registry import discover
from workflows.schedules import BATON_TASK, describe, next_fire_after, slots_between
from workflows.sync import sync_workflows

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def periodic(**timing) -> PeriodicTask:
    return PeriodicTask.objects.create(
        name=f"t{PeriodicTask.objects.count()}", task=BATON_TASK, **timing
    )


def cron(expression: str, tz: str = "UTC") -> PeriodicTask:
    minute, hour, dom, month, dow = expression.split()
    schedule = CrontabSchedule.objects.create(
        minute=minute,
        hour=hour,
        day_of_month=dom,
        month_of_year=month,
        day_of_week=dow,
        timezone=tz,
    )
    return periodic(crontab=schedule)


def test_cron_in_paris_keeps_local_time_across_the_spring_dst_change():
    task = cron("0 3 * * *", "Europe/Paris")
    before = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    slots = slots_between(task, before, before + timedelta(days=3), limit=10)
    assert [s.astimezone(PARIS).strftime("%m-%d %H:%M") for s in slots] == [
        "03-28 03:00",
        "03-29 03:00",
        "03-30 03:00",
    ]
    # 03:00 in Paris is 02:00 UTC in winter and 01:00 UTC in summer.
    assert [s.astimezone(UTC).hour for s in slots] == [2, 1, 1]


def test_cron_in_paris_keeps_local_time_across_the_autumn_dst_change():
    task = cron("30 8 * * *", "Europe/Paris")
    before = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    slots = slots_between(task, before, before + timedelta(days=2), limit=10)
    assert [s.astimezone(UTC).strftime("%m-%d %H:%M") for s in slots] == [
        "10-25 07:30",  # summer time ended that night: UTC+1
        "10-26 07:30",
    ]
    assert {s.astimezone(PARIS).strftime("%H:%M") for s in slots} == {"08:30"}


def test_cron_slots_are_strictly_after_the_given_time():
    task = cron("*/15 * * * *")
    at = datetime(2026, 1, 1, 10, 15, tzinfo=UTC)
    assert next_fire_after(task, at) == datetime(2026, 1, 1, 10, 30, tzinfo=UTC)


def test_an_interval_counts_from_its_start_time():
    interval = IntervalSchedule.objects.create(every=90, period=IntervalSchedule.MINUTES)
    start = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    task = periodic(interval=interval, start_time=start)
    assert next_fire_after(task, start - timedelta(days=1)) == start
    assert next_fire_after(task, start) == start + timedelta(minutes=90)
    assert next_fire_after(task, start + timedelta(minutes=100)) == start + timedelta(minutes=180)


def test_a_one_off_fires_once():
    at = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    task = periodic(clocked=ClockedSchedule.objects.create(clocked_time=at), one_off=True)
    assert next_fire_after(task, at - timedelta(hours=1)) == at
    assert next_fire_after(task, at) is None


def test_schedules_are_described_in_plain_language(settings):
    settings.TIME_ZONE = "Europe/Paris"
    assert describe(cron("0 3 * * *", "Europe/Paris")) == "every day at 03:00, Europe/Paris"
    assert describe(cron("0 9 * * 1-5")) == "at 09:00, Monday through Friday, UTC"
    hours = IntervalSchedule.objects.create(every=2, period=IntervalSchedule.HOURS)
    assert describe(periodic(interval=hours)) == "every 2 hours"
    at = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    clocked = ClockedSchedule.objects.create(clocked_time=at)
    assert describe(periodic(clocked=clocked, one_off=True)) == "once, on 2026-06-01 09:00 CEST"


def test_schedules_are_described_in_french(settings):
    from django.utils import translation

    with translation.override("fr"):
        assert describe(cron("0 9 * * 1-5")) == "à 09:00, de lundi à vendredi, UTC"


SCHEDULED = """
from datetime import timedelta
from workflows import shell, workflow

@workflow(schedule={schedule!r})
def nightly():
    shell("echo", ["echo", "hi"])
"""


def sync_with(folder, schedule):
    (folder / "nightly.py").write_text(textwrap.dedent(SCHEDULED.format(schedule=schedule)))
    sync_workflows(registry=discover())
    return WorkflowSchedule.objects.filter(workflow__slug="nightly").select_related(
        "periodic_task__crontab", "periodic_task__interval"
    )


def test_sync_creates_a_schedule_declared_in_code(workflows_dir, settings):
    settings.TIME_ZONE = "Europe/Paris"
    (schedule,) = sync_with(workflows_dir, "0 3 * * *")
    task = schedule.periodic_task
    assert (task.task, task.enabled, schedule.from_code, schedule.owner) == (
        BATON_TASK,
        True,
        True,
        "code",
    )
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == (
        "0",
        "3",
        "Europe/Paris",
    )


def test_sync_follows_a_changed_declaration(workflows_dir):
    sync_with(workflows_dir, "0 3 * * *")
    (schedule,) = sync_with(workflows_dir, "15 4 * * *")
    assert (schedule.periodic_task.crontab.minute, schedule.periodic_task.crontab.hour) == (
        "15",
        "4",
    )


def test_an_interval_declared_in_code_becomes_an_interval_schedule(workflows_dir):
    (folder_file := workflows_dir / "nightly.py").write_text(
        textwrap.dedent(SCHEDULED).replace("{schedule!r}", "timedelta(hours=6)")
    )
    sync_workflows(registry=discover())
    schedule = WorkflowSchedule.objects.get(workflow__slug="nightly")
    assert (schedule.periodic_task.interval.every, schedule.periodic_task.interval.period) == (
        21600,
        "seconds",
    )
    assert folder_file.exists()


def test_an_admins_edit_survives_the_next_sync(workflows_dir):
    (schedule,) = sync_with(workflows_dir, "0 3 * * *")
    task = schedule.periodic_task
    task.crontab = CrontabSchedule.objects.create(minute="45", hour="6", timezone="UTC")
    task.save()

    (schedule,) = sync_with(workflows_dir, "0 4 * * *")
    assert schedule.owner == "admin"
    assert (schedule.periodic_task.crontab.minute, schedule.periodic_task.crontab.hour) == (
        "45",
        "6",
    )


def test_removing_the_schedule_from_code_deletes_its_row(workflows_dir):
    sync_with(workflows_dir, "0 3 * * *")
    assert not sync_with(workflows_dir, None).exists()
    assert not PeriodicTask.objects.filter(task=BATON_TASK, name__startswith="nightly").exists()
    assert Workflow.objects.get(slug="nightly").is_active


def test_a_workflow_lists_its_schedules_in_words_with_the_next_run(settings):
    from workflows.selectors import schedules_of, with_schedules

    now = datetime(2026, 5, 4, 12, 30, tzinfo=UTC)
    workflow = with_schedules(Workflow.objects.filter(slug="flaky_import")).get()
    (info,) = schedules_of(workflow, now)
    assert info.text == "every day at 03:00, UTC"
    assert info.next_run_at == datetime(2026, 5, 5, 3, 0, tzinfo=UTC)

    Workflow.objects.filter(pk=workflow.pk).update(is_paused=True)
    paused = with_schedules(Workflow.objects.filter(pk=workflow.pk)).get()
    assert schedules_of(paused, now)[0].next_run_at is None
