"""Notifications reach a real SMTP server and a real HTTP server; failures retried, then kept."""

import hashlib
import hmac
import threading
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import translation
from guardian.shortcuts import assign_perm

from runs.models import WorkflowRun
from runs.notifications.models import (
    Channel,
    Event,
    Notification,
    NotificationRule,
    RecipientLanguage,
)
from runs.notifications.outbox import send_due
from runs.services import trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
from tests.notification_servers import HookServer, SmtpServer
from tests.processes import wait_until
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"
SITE = "https://baton.example.com"
SECRET = "hook-s3cret"


@pytest.fixture
def hooks():
    with HookServer() as server:
        yield server


@pytest.fixture
def smtp(settings):
    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        yield server.mailbox


@pytest.fixture
def fast(settings):
    settings.BATON_SITE_URL = SITE
    settings.BATON_NOTIFY_RETRY_DELAY = 0.05
    settings.BATON_NOTIFY_POLL_SECONDS = 0.05
    settings.BATON_NOTIFY_ATTEMPTS = 3
    return settings


@pytest.fixture
def engine(transactional_db, fast):
    with use_workflows(WORKFLOWS), in_process_worker(threads=2) as broker:
        yield broker


def channel(hooks, kind="webhook", path="/hook", name="test-hook", **fields) -> Channel:
    return Channel.objects.create(name=name, kind=kind, url=hooks.url + path, **fields)


def owner(workflow, username="olive", email="olive@example.com") -> User:
    user = User.objects.create_user(username, email=email)
    for codename in ("view_workflow", "manage_workflow"):
        assign_perm(codename, user, workflow)
    return user


def run_of(slug, **kwargs) -> WorkflowRun:
    run = trigger_run(workflow=Workflow.objects.get(slug=slug), parameters={}, **kwargs)
    return wait_for_run(run)


def delivered(state="sent", count=1):
    def condition():
        return Notification.objects.filter(state=state).count() >= count

    wait_until(condition, 10, f"no {count} notification(s) {state}: {list(_states())}")


def _states():
    return Notification.objects.values_list("event", "state", "answer")


def test_a_failure_posts_a_signed_webhook_with_the_log_tail_and_a_link(engine, hooks):
    channel(hooks, secret=SECRET)  # named by nightly_load's Notify(to="channel:test-hook")
    run = run_of("nightly_load")
    assert run.state == "failed"
    delivered()
    [post] = hooks.posts_to("/hook")
    expected = "sha256=" + hmac.new(SECRET.encode(), post.body, hashlib.sha256).hexdigest()
    assert post.headers["X-Baton-Signature"] == expected
    assert post.headers["X-Baton-Event"] == "failure"
    body = post.json()
    assert body["event"] == "failure"
    assert body["workflow"] == "nightly_load"
    assert body["run"] == {**body["run"], "id": run.pk, "number": run.number, "state": "failed"}
    assert body["task"]["name"] == "load_rows"
    assert "the warehouse refused row 7" in body["task"]["error"]
    assert body["link"] == f"{SITE}/runs/{run.pk}/"
    assert "loaded row 29" in body["text"]  # the last lines of the failed task's log
    assert "loaded row 5\n" not in body["text"]  # only the last 20
    notification = Notification.objects.get()
    assert notification.answer.startswith("HTTP 200")


def test_the_owners_get_an_email_in_their_language(engine, smtp, hooks):
    workflow = Workflow.objects.get(slug="nightly_load")
    NotificationRule.objects.create(workflow=workflow, on_failure=True, to_owners=True)
    olive = owner(workflow)
    fabien = owner(workflow, "fabien", "fabien@example.com")
    RecipientLanguage.objects.create(user=fabien, language="fr")
    run = run_of("nightly_load")
    delivered(count=2)
    by_address = {message["to"][0]: message for message in smtp.messages}
    english = by_address[olive.email]
    assert english["subject"] == f"[Baton] Nightly load #{run.number} failed"
    assert "Task 'load_rows' failed: RuntimeError: the warehouse refused row 7" in english["body"]
    assert f"{SITE}/runs/{run.pk}/" in english["body"]
    assert "loaded row 29" in english["body"]
    french = by_address["fabien@example.com"]
    assert french["subject"] == f"[Baton] Nightly load #{run.number} a échoué"
    assert "Dernières lignes du journal" in french["body"]


def success_rule(workflow, **to) -> NotificationRule:
    return NotificationRule.objects.create(
        workflow=workflow, on_failure=False, on_success=True, **{"to_owners": False, **to}
    )


def test_a_group_an_email_list_slack_and_teams_get_one_message_each(engine, smtp, hooks):
    workflow = Workflow.objects.get(slug="quick_job")
    team = Group.objects.create(name="Data team")
    User.objects.create_user("dana", email="dana@example.com").groups.add(team)
    success_rule(workflow, group=team)
    success_rule(workflow, group=team)  # the same group again: still one message
    mailing = Channel.objects.create(name="ops-list", kind="email", addresses="ops@example.com")
    success_rule(workflow, channel=mailing)
    for kind in ("slack", "teams"):
        success_rule(workflow, channel=channel(hooks, kind=kind, path=f"/{kind}", name=kind))
    run = run_of("quick_job")
    assert run.state == "success"
    delivered(count=4)
    assert sorted(m["to"][0] for m in smtp.messages) == ["dana@example.com", "ops@example.com"]
    assert all("succeeded" in m["subject"] for m in smtp.messages)
    [slack] = hooks.posts_to("/slack")
    assert slack.json()["text"].startswith(f"*[Baton] Quick job #{run.number} succeeded*")
    [teams] = hooks.posts_to("/teams")
    card = teams.json()
    assert card["@type"] == "MessageCard"
    assert card["potentialAction"][0]["targets"][0]["uri"] == f"{SITE}/runs/{run.pk}/"


def test_failed_deliveries_are_retried_then_kept_with_the_answer_and_the_run_unaffected(
    engine, smtp, hooks
):
    hooks.answers["/slack"] = (404, "no_service")
    smtp.refuse = "550 5.1.1 No such mailbox here"
    workflow = Workflow.objects.get(slug="quick_job")
    slack = success_rule(workflow, channel=channel(hooks, kind="slack", path="/slack")).channel
    closed = Channel.objects.create(name="nowhere", kind="webhook", url="http://127.0.0.1:9/T0KEN")
    success_rule(workflow, channel=closed)
    success_rule(workflow, to_owners=True)
    olive = owner(workflow)
    run = run_of("quick_job")
    delivered("failed", count=3)
    answers = {
        n.channel or n.user: (n.answer, n.attempts)
        for n in Notification.objects.select_related("channel", "user")
    }
    assert answers[slack] == ("HTTP 404 Not Found: no_service", 3)
    assert len(hooks.posts_to("/slack")) == 3
    closed_answer, closed_attempts = answers[closed]
    assert closed_attempts == 3
    assert closed_answer.startswith("Could not reach http://127.0.0.1:9:")
    assert "T0KEN" not in closed_answer  # a webhook's path may be its secret
    smtp_answer, _attempts = answers[olive]
    assert "550" in smtp_answer and "No such mailbox here" in smtp_answer
    assert smtp.messages == []
    run.refresh_from_db()
    assert run.state == "success"
    assert run.task_runs.get().state == "success"


def test_a_retry_notifies_the_retry_rule(engine, hooks):
    channel(hooks)
    run = run_of("shaky_job")
    assert run.state == "success"
    delivered()
    [post] = hooks.posts_to("/hook")
    body = post.json()
    assert body["event"] == "retry"
    assert "the API hung up" in body["task"]["error"]
    assert "(attempt 1 of 2) and will be tried again" in body["text"]


def test_notify_me_sends_the_end_to_whoever_clicked_run_and_only_then(engine, smtp, client):
    workflow = Workflow.objects.get(slug="quick_job")
    clicker = User.objects.create_user("ines", email="ines@example.com", password="pw")
    for codename in ("view_workflow", "trigger_workflow"):
        assign_perm(codename, clicker, workflow)
    client.force_login(clicker)
    client.post("/workflows/quick_job/run/", {})  # the box left unticked
    wait_for_run(WorkflowRun.objects.get(workflow=workflow))
    assert not Notification.objects.exists()

    page = client.get("/workflows/quick_job/run/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "Me prévenir quand elle se termine" in page.content.decode()
    client.post("/workflows/quick_job/run/", {"notify-me": "on"}, HTTP_ACCEPT_LANGUAGE="fr")
    run = wait_for_run(WorkflowRun.objects.filter(workflow=workflow).first())
    delivered()
    [message] = smtp.messages
    assert message["to"] == ["ines@example.com"]
    assert message["subject"] == f"[Baton] Quick job #{run.number} a réussi"
    assert Notification.objects.get().why == "Notify me when it ends"


@pytest.mark.skipif(connection.vendor == "sqlite", reason="concurrent writers need PostgreSQL")
def test_two_concurrent_senders_send_each_message_once(transactional_db, fast, hooks):
    workflow = Workflow.objects.create(slug="wf", title="Wf")
    hook = channel(hooks)
    Notification.objects.bulk_create(
        Notification(key=f"k{n}", event=Event.MISSED_SCHEDULE, workflow=workflow, channel=hook)
        for n in range(40)
    )
    barrier = threading.Barrier(2)

    def sender():
        barrier.wait()
        try:
            while send_due():
                pass
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    deliveries = sorted(int(post.headers["X-Baton-Delivery"]) for post in hooks.posts)
    assert deliveries == sorted(Notification.objects.values_list("pk", flat=True))
    assert set(Notification.objects.values_list("state", "attempts")) == {("sent", 1)}


def test_french_strings_are_compiled():
    with translation.override("fr"):
        assert translation.gettext("Notify me when it ends") != "Notify me when it ends"


def test_a_database_outage_is_waited_out_and_the_message_sent_after(
    transactional_db, fast, hooks, monkeypatch, caplog
):
    from django.db import OperationalError

    from runs.execution import reconnect
    from runs.notifications import outbox

    monkeypatch.setattr(reconnect, "connection_lost", lambda exc: True)  # SQLite stays usable
    workflow = Workflow.objects.create(slug="wf", title="Wf")
    Notification.objects.create(
        key="k",
        event="missed_schedule",
        workflow=workflow,
        channel=channel(hooks),
        details={"slot": "2026-05-04T13:00:00+00:00", "reason": "its code is gone"},
    )
    real_claim, calls = outbox.claim, []

    def claim_during_an_outage(pk, now):
        calls.append(pk)
        if len(calls) <= 4:
            raise OperationalError("server closed the connection unexpectedly")
        return real_claim(pk, now)

    monkeypatch.setattr(outbox, "claim", claim_during_an_outage)
    sender = outbox.SenderThread()
    sender.tick()  # the database is "down": nothing sent, nothing raised
    sender.tick()
    assert hooks.posts == []
    assert Notification.objects.get().state == "pending"
    sender.tick()  # back
    assert len(hooks.posts) == 1
    assert Notification.objects.get().state == "sent"
    assert sum("Database unreachable" in r.message for r in caplog.records) == 1
