"""Notification rules in code and in the admin, slow runs, missed slots, and who sees what."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from guardian.shortcuts import assign_perm

from runs.models import WorkflowRun
from runs.notifications.messages import render
from runs.notifications.models import Channel, Notification, NotificationRule
from runs.notifications.slow import notify_slow_runs
from runs.scheduler import Scheduler
from runs.testing import stub_broker, use_workflows
from workflows import DefinitionError, Notify, task, workflow
from workflows.models import Workflow, WorkflowSchedule

SCHEDULED = Path(__file__).parent / "scheduler_workflows"
NOON = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


@task
def step() -> None:
    pass


def test_an_unknown_event_names_the_file_and_line_of_the_notify():
    with pytest.raises(DefinitionError) as error:
        Notify(on="fail", to="owners")
    assert error.value.file == __file__
    # The line of the Notify(...) call, two below the def.
    assert (
        error.value.line
        == test_an_unknown_event_names_the_file_and_line_of_the_notify.__code__.co_firstlineno + 2
    )
    assert "does not know the event 'fail'; use one of failure, success, retry" in str(error.value)


def test_a_slow_rule_needs_its_duration_and_a_recipient_must_be_understood():
    with pytest.raises(DefinitionError, match=r"on='slow'\) needs slower_than"):
        Notify(on="slow", to="owners")
    with pytest.raises(DefinitionError, match="does not understand 'ops'"):
        Notify(on="failure", to="ops")


def test_notify_takes_only_rules():
    with pytest.raises(DefinitionError) as error:

        @workflow(notify=["owners"])
        def misdeclared():
            step()

    assert error.value.workflow == "misdeclared"
    assert "notify= takes Notify(...) rules" in str(error.value)


def test_the_rules_of_a_workflow_are_kept_on_its_definition():
    rule = Notify(on=["failure", "slow"], to="channel:ops", slower_than=timedelta(minutes=5))

    @workflow(notify=rule)
    def watched():
        step()

    assert watched.notify == (rule,)


@pytest.fixture
def world(db):
    workflow = Workflow.objects.create(slug="etl", title="ETL")
    hook = Channel.objects.create(name="hook", kind="webhook", url="http://127.0.0.1:9/")
    return workflow, hook


def test_a_slow_run_is_told_once(world):
    workflow, hook = world
    NotificationRule.objects.create(
        workflow=workflow,
        on_failure=False,
        to_owners=False,
        channel=hook,
        slower_than=timedelta(hours=1),
    )
    now = timezone.now()
    slow = WorkflowRun.objects.create(
        workflow=workflow, number=1, state="running", started_at=now - timedelta(minutes=70)
    )
    WorkflowRun.objects.create(
        workflow=workflow, number=2, state="running", started_at=now - timedelta(minutes=10)
    )
    assert notify_slow_runs(now) == 1
    assert notify_slow_runs(now + timedelta(minutes=1)) == 0  # not a second time
    notification = Notification.objects.get()
    assert (notification.event, notification.run) == ("slow", slow)
    assert "has been running for 1 h 10 min, longer than the 1 h 0 min expected" in (
        render(notification).text
    )


def test_a_schedule_whose_parameters_no_longer_fit_tells_its_rule(db):
    with use_workflows(SCHEDULED), stub_broker():
        workflow = Workflow.objects.get(slug="hourly_report")
        hook = Channel.objects.create(name="hook", kind="webhook", url="http://127.0.0.1:9/")
        NotificationRule.objects.create(
            workflow=workflow,
            on_failure=False,
            on_missed_schedule=True,
            to_owners=False,
            channel=hook,
        )
        schedule = WorkflowSchedule.objects.get(workflow=workflow)
        WorkflowSchedule.objects.filter(pk=schedule.pk).update(parameters={"nope": 1})
        schedule.periodic_task.__class__.objects.filter(pk=schedule.periodic_task_id).update(
            last_run_at=NOON
        )
        Scheduler(clock=lambda: NOON + timedelta(hours=1, seconds=1)).tick()
    assert not WorkflowRun.objects.exists()
    notification = Notification.objects.get()
    assert notification.event == "missed_schedule"
    assert notification.details["slot"] == (NOON + timedelta(hours=1)).isoformat()
    assert "nope" in notification.details["reason"]
    assert "did not start: invalid parameters" in render(notification).text


def test_a_paused_workflow_missing_its_slot_tells_nobody(db):
    with use_workflows(SCHEDULED), stub_broker():
        workflow = Workflow.objects.get(slug="hourly_report")
        hook = Channel.objects.create(name="hook", kind="webhook", url="http://127.0.0.1:9/")
        NotificationRule.objects.create(
            workflow=workflow, on_missed_schedule=True, to_owners=False, channel=hook
        )
        Workflow.objects.filter(pk=workflow.pk).update(is_paused=True)
        schedule = WorkflowSchedule.objects.get(workflow=workflow)
        schedule.periodic_task.__class__.objects.filter(pk=schedule.periodic_task_id).update(
            last_run_at=NOON
        )
        Scheduler(clock=lambda: NOON + timedelta(hours=1, seconds=1)).tick()
    assert not Notification.objects.exists()


@pytest.fixture
def admin_client_(client, db):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_a_channels_secret_and_webhook_path_are_never_shown_back(admin_client_):
    answer = admin_client_.post(
        "/admin/runs/channel/add/",
        {
            "name": "ops-slack",
            "kind": "slack",
            "url": "https://hooks.slack.com/services/T000/B000/XYZsecretpath",
            "addresses": "",
            "secret": "",
            "language": "en",
            "is_active": "on",
        },
    )
    assert answer.status_code == 302
    channel = Channel.objects.get()
    for page in (f"/admin/runs/channel/{channel.pk}/change/", "/admin/runs/channel/"):
        html = admin_client_.get(page).content.decode()
        assert "XYZsecretpath" not in html
    assert "https://hooks.slack.com/…" in admin_client_.get("/admin/runs/channel/").content.decode()

    admin_client_.post(  # saved again with the URL left empty: the stored one is kept
        f"/admin/runs/channel/{channel.pk}/change/",
        {"name": "ops-slack", "kind": "slack", "url": "", "secret": "", "language": "fr"},
    )
    channel.refresh_from_db()
    assert (channel.url, channel.language) == (
        "https://hooks.slack.com/services/T000/B000/XYZsecretpath",
        "fr",
    )


def test_an_email_channel_without_an_address_is_refused_saying_why(admin_client_):
    answer = admin_client_.post(
        "/admin/runs/channel/add/",
        {"name": "ops", "kind": "email", "addresses": "ops@", "language": "en"},
    )
    assert "“ops@” is not an e-mail address." in answer.content.decode()
    assert not Channel.objects.exists()


def test_owners_see_the_deliveries_and_strangers_get_a_404(world, client):
    workflow, hook = world
    Notification.objects.create(
        key="k",
        event="failure",
        workflow=workflow,
        channel=hook,
        state="failed",
        attempts=5,
        answer="HTTP 404 Not Found: no_service",
    )
    owner = User.objects.create_user("olive")
    for codename in ("view_workflow", "manage_workflow"):
        assign_perm(codename, owner, workflow)
    client.force_login(owner)
    html = client.get("/workflows/etl/notifications/").content.decode()
    assert "HTTP 404 Not Found: no_service" in html
    assert "5 attempts" in html
    client.force_login(User.objects.create_user("stranger"))
    assert client.get("/workflows/etl/notifications/").status_code == 404


def test_a_staff_member_writes_rules_only_for_workflows_they_manage(world, client):
    from django.contrib.auth.models import Permission

    workflow, _hook = world
    Workflow.objects.create(slug="payroll", title="Payroll")
    editor = User.objects.create_user("ed", is_staff=True)
    editor.user_permissions.add(*Permission.objects.filter(codename__endswith="notificationrule"))
    for codename in ("view_workflow", "manage_workflow"):
        assign_perm(codename, editor, workflow)
    client.force_login(editor)
    form = client.get("/admin/runs/notificationrule/add/").content.decode()
    assert ">etl<" in form or "ETL" in form
    assert "payroll" not in form.lower()
    refused = client.post(
        "/admin/runs/notificationrule/add/",
        {"workflow": Workflow.objects.get(slug="payroll").pk, "on_failure": "on"},
    )
    assert refused.status_code == 200  # the form again, with the choice refused
    assert not NotificationRule.objects.exists()


def test_admins_see_each_delivery_and_send_a_failed_one_again(world, admin_client_):
    workflow, hook = world
    failed = Notification.objects.create(
        key="k1",
        event="missed_schedule",
        workflow=workflow,
        channel=hook,
        state="failed",
        attempts=5,
        answer="HTTP 500 Internal Server Error: boom",
    )
    listing = admin_client_.get("/admin/runs/notification/").content.decode()
    assert "hook" in listing and "failed" in listing
    page = admin_client_.get(f"/admin/runs/notification/{failed.pk}/change/").content.decode()
    assert "HTTP 500 Internal Server Error: boom" in page
    admin_client_.post(
        "/admin/runs/notification/",
        {"action": "send_again", "_selected_action": [failed.pk]},
    )
    failed.refresh_from_db()
    assert (failed.state, failed.attempts) == ("pending", 0)


def test_slots_skipped_while_the_scheduler_was_down_are_told_once(db):
    with use_workflows(SCHEDULED), stub_broker():
        hook = Channel.objects.create(name="hook", kind="webhook", url="http://127.0.0.1:9/")
        for slug in ("hourly_report", "hourly_catchup"):
            workflow = Workflow.objects.get(slug=slug)
            NotificationRule.objects.create(
                workflow=workflow, on_missed_schedule=True, to_owners=False, channel=hook
            )
            schedule = WorkflowSchedule.objects.get(workflow=workflow)
            schedule.periodic_task.__class__.objects.filter(pk=schedule.periodic_task_id).update(
                last_run_at=NOON
            )
        scheduler = Scheduler(clock=lambda: NOON + timedelta(hours=5, minutes=30))
        scheduler.tick()
        scheduler.tick()
    notification = Notification.objects.get()  # none for the workflow with catch-up
    assert notification.workflow.slug == "hourly_report"
    assert notification.details["skipped"] == 4  # 13:00 to 16:00; 17:00 ran
    words = render(notification)
    assert words.subject == "[Baton] Hourly report missed 4 scheduled runs"
    assert "4 runs of Hourly report due from" in words.text
    assert "only the latest slot ran" in words.text


def test_the_owners_page_names_the_channels_the_code_asks_for_that_do_not_exist(db, client):
    with use_workflows(Path(__file__).parent / "integration" / "workflows"):
        workflow = Workflow.objects.get(slug="nightly_load")  # Notify(to="channel:test-hook")
        owner = User.objects.create_user("olive")
        for codename in ("view_workflow", "manage_workflow"):
            assign_perm(codename, owner, workflow)
        client.force_login(owner)
        html = client.get("/workflows/nightly_load/notifications/").content.decode()
        assert "recipients that do not exist" in html and "channel:test-hook" in html
        Channel.objects.create(name="test-hook", kind="webhook", url="http://127.0.0.1:9/")
        html = client.get("/workflows/nightly_load/notifications/").content.decode()
        assert "recipients that do not exist" not in html
