"""The scheduler's in-memory book of schedules: slots due, catch-up, reloads."""

from datetime import UTC, datetime, timedelta

import pytest
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask, PeriodicTasks

from runs.schedule_book import ScheduleBook, missed_slots
from workflows.models import Workflow, WorkflowSchedule
from workflows.schedules import BATON_TASK, Timing

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def hourly(workflow: Workflow, *, last_run_at=None, name="hourly") -> PeriodicTask:
    cron = CrontabSchedule.objects.create(minute="0", hour="*", timezone="UTC")
    task = PeriodicTask.objects.create(
        name=name, task=BATON_TASK, crontab=cron, last_run_at=last_run_at
    )
    WorkflowSchedule.objects.create(periodic_task=task, workflow=workflow)
    return task


@pytest.fixture
def workflow():
    return Workflow.objects.get(slug="sales_report")


def test_without_catchup_only_the_latest_missed_slot_runs(workflow):
    task = hourly(workflow, last_run_at=NOON - timedelta(hours=5))
    assert missed_slots(
        Timing.of(task), task.last_run_at, catchup=False, now=NOON + timedelta(minutes=30)
    ) == [NOON]


def test_with_catchup_every_missed_slot_runs_oldest_first(workflow):
    task = hourly(workflow, last_run_at=NOON - timedelta(hours=3))
    slots = missed_slots(
        Timing.of(task), task.last_run_at, catchup=True, now=NOON + timedelta(minutes=30)
    )
    assert slots == [NOON - timedelta(hours=2), NOON - timedelta(hours=1), NOON]


def test_catchup_is_bounded_by_the_setting(workflow, settings):
    settings.BATON_CATCHUP_LIMIT = 2
    task = hourly(workflow, last_run_at=NOON - timedelta(days=3))
    slots = missed_slots(Timing.of(task), task.last_run_at, catchup=True, now=NOON)
    assert slots == [NOON - timedelta(days=3) + timedelta(hours=n) for n in (1, 2)]


def test_the_latest_missed_slot_is_found_after_a_long_downtime(workflow):
    task = hourly(workflow, last_run_at=NOON - timedelta(days=200))
    assert missed_slots(
        Timing.of(task), task.last_run_at, catchup=False, now=NOON + timedelta(minutes=1)
    ) == [NOON]


def test_a_new_schedule_counts_from_now(workflow):
    task = hourly(workflow)
    book = ScheduleBook()
    book.load(NOON + timedelta(minutes=10))
    assert book.pop_due(NOON + timedelta(minutes=59)) == []
    (due,) = book.pop_due(NOON + timedelta(hours=1))
    assert (due.at, due.task_id) == (NOON + timedelta(hours=1), task.pk)
    task.refresh_from_db()
    assert task.last_run_at == NOON + timedelta(minutes=10)


def test_the_book_orders_slots_and_queues_the_next_one(workflow):
    hourly(workflow, last_run_at=NOON, name="a")
    interval = IntervalSchedule.objects.create(every=20, period=IntervalSchedule.MINUTES)
    task = PeriodicTask.objects.create(
        name="b", task=BATON_TASK, interval=interval, start_time=NOON, last_run_at=NOON
    )
    WorkflowSchedule.objects.create(periodic_task=task, workflow=workflow)
    book = ScheduleBook()
    book.load(NOON)
    due = book.pop_due(NOON + timedelta(hours=1))
    assert [(d.at - NOON).seconds // 60 for d in due] == [20, 60]
    for slot in due:
        book.push_next(slot)
    assert book.seconds_until_next(NOON + timedelta(hours=1)) == 0  # 13:00 interval slot due


def test_disabled_schedules_are_not_loaded(workflow):
    task = hourly(workflow, last_run_at=NOON)
    task.enabled = False
    task.save()
    book = ScheduleBook()
    book.load(NOON)
    assert task.pk not in book.timings


def test_the_book_reloads_only_when_a_schedule_changed(workflow):
    hourly(workflow, last_run_at=NOON)
    book = ScheduleBook()
    assert book.reload_if_changed(NOON) is True
    loaded = len(book.timings)
    assert book.reload_if_changed(NOON) is False
    # The scheduler's own writes use update(), which does not mark a change.
    PeriodicTask.objects.filter(pk__in=book.timings).update(last_run_at=NOON)
    assert book.reload_if_changed(NOON) is False
    hourly(workflow, name="another")
    assert book.reload_if_changed(NOON) is True
    assert len(book.timings) == loaded + 1


def test_an_edit_reads_again_only_the_edited_schedule(workflow, django_assert_max_num_queries):
    kept = hourly(workflow, last_run_at=NOON, name="kept")
    edited = hourly(workflow, last_run_at=NOON, name="edited")
    book = ScheduleBook()
    book.reload_if_changed(NOON)
    edited.crontab = CrontabSchedule.objects.create(minute="30", hour="*", timezone="UTC")
    edited.save()
    assert book.reload_if_changed(NOON) is True
    due = book.pop_due(NOON + timedelta(hours=1))
    assert [(d.task_id, d.at - NOON) for d in due] == [
        (edited.pk, timedelta(minutes=30)),
        (kept.pk, timedelta(hours=1)),
    ]


def test_a_deleted_or_disabled_schedule_is_forgotten(workflow):
    deleted = hourly(workflow, last_run_at=NOON, name="deleted")
    disabled = hourly(workflow, last_run_at=NOON, name="disabled")
    kept = hourly(workflow, last_run_at=NOON, name="kept")
    book = ScheduleBook()
    book.reload_if_changed(NOON)
    deleted.delete()
    disabled.enabled = False
    disabled.save()
    assert book.reload_if_changed(NOON) is True
    assert {deleted.pk, disabled.pk, kept.pk} & set(book.timings) == {kept.pk}
    due = {d.task_id for d in book.pop_due(NOON + timedelta(hours=1))}
    assert {deleted.pk, disabled.pk, kept.pk} & due == {kept.pk}


def test_an_edited_cron_line_moves_every_schedule_using_it(workflow):
    task = hourly(workflow, last_run_at=NOON)
    book = ScheduleBook()
    book.reload_if_changed(NOON)
    cron = task.crontab
    cron.minute = "15"
    cron.save()  # django-celery-beat bumps the marker, not the task's date_changed
    book.reload_if_changed(NOON)
    (due,) = book.pop_due(NOON + timedelta(hours=1))
    assert due.at == NOON + timedelta(minutes=15)


def test_a_schedule_linked_to_a_workflow_later_is_found(workflow):
    book = ScheduleBook()
    book.reload_if_changed(NOON)
    cron = CrontabSchedule.objects.create(minute="0", hour="*", timezone="UTC")
    task = PeriodicTask.objects.create(name="late", task=BATON_TASK, crontab=cron)
    PeriodicTask.objects.filter(pk=task.pk).update(date_changed=NOON - timedelta(days=1))
    book.reload_if_changed(NOON)
    WorkflowSchedule.objects.create(periodic_task=task, workflow=workflow)
    PeriodicTasks.update_changed()
    book.reload_if_changed(NOON)
    assert task.pk in book.timings
