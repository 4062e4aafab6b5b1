"""record_event: who, what, from where, secrets masked, in the action's transaction, for good."""

import pytest
from django.db import transaction
from django.test import RequestFactory
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.services import create_token
from accounts.testing import make_user, make_workflow
from audit.masking import MASK, mask_secrets
from audit.models import AuditChainHead, AuditEvent, AuditEventImmutable
from audit.recorder import SCHEDULER, ObjectRef, Verb, record_event, workflow_of
from audit.testing import AuditTrail
from workflows.models import WorkflowSchedule
from workflows.references import Secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return make_user("alice")


def web_request(user=None, **extra):
    request = RequestFactory().post(
        "/somewhere/", REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Firefox/140", **extra
    )
    if user is not None:
        request.user = user
    return request


def test_it_masks_password_like_keys_secrets_and_tokens_at_any_depth():
    details = {
        "parameters": {"region": "south", "db_password": "hunter2", "Api-Key": "k"},
        "env": [{"CLIENT_SECRET": "s3cr3t"}, {"TOKEN": Secret("BILLING_TOKEN")}],
        "reason": "used baton_0123abcd_Zm9vYmFyYmF6 by mistake",
        "passphrase": "",
        "label": Secret("ANY"),
    }

    assert mask_secrets(details) == {
        "parameters": {"region": "south", "db_password": MASK, "Api-Key": MASK},
        "env": [{"CLIENT_SECRET": MASK}, {"TOKEN": MASK}],
        "reason": f"used {MASK} by mistake",
        "passphrase": "",
        "label": MASK,
    }


def test_it_stores_masked_details_and_describes_the_object_and_its_workflow(alice):
    payroll = make_workflow("payroll", title="Payroll export")
    trail = AuditTrail()

    record_event(
        verb=Verb.RUN_TRIGGERED,
        actor=alice,
        obj=payroll,
        workflow=payroll,
        details={"parameters": {"day": "2026-01-02", "password": "hunter2"}},
    )

    event = trail.only()
    assert (event.actor, event.actor_label, event.verb) == (alice, "alice", "run.triggered")
    assert (event.object_type, event.object_id, event.object_label) == (
        "workflows.workflow",
        str(payroll.pk),
        "Payroll export",
    )
    assert event.workflow_slug == "payroll"
    assert event.details == {"parameters": {"day": "2026-01-02", "password": MASK}}
    assert "hunter2" not in event.details_text


def test_it_records_the_workflow_it_is_given_and_guesses_none(alice):
    payroll = make_workflow("payroll")
    every_hour = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    task = PeriodicTask.objects.create(name="payroll", task="baton.start_run", interval=every_hour)
    schedule = WorkflowSchedule.objects.create(periodic_task=task, workflow=payroll)
    trail = AuditTrail()

    record_event(verb=Verb.SCHEDULE_DELETED, actor=alice, obj=schedule, workflow=payroll)
    record_event(verb=Verb.SCHEDULE_DELETED, actor=alice, obj=schedule)

    assert [event.workflow_slug for event in trail.events()] == ["payroll", ""]
    assert workflow_of(schedule) == payroll  # what the admin log hook asks explicitly


def test_it_names_automatic_actors_and_defaults_to_system():
    trail = AuditTrail()

    record_event(verb=Verb.RUN_TRIGGERED, actor_label=SCHEDULER)
    record_event(verb=Verb.WORKFLOW_DEACTIVATED)

    assert [(e.actor, e.actor_label) for e in trail.events()] == [
        (None, "scheduler"),
        (None, "system"),
    ]


def test_it_records_the_ip_address_user_agent_and_user_of_the_request(alice):
    trail = AuditTrail()

    record_event(verb=Verb.RUN_CANCELLED, request=web_request(alice))

    event = trail.only()
    assert (event.actor, event.ip_address, event.user_agent) == (
        alice,
        "203.0.113.7",
        "Firefox/140",
    )


def test_it_records_an_api_token_call_as_the_tokens_owner_with_the_tokens_name(alice):
    token, _raw = create_token(user=alice, name="nightly CI", by=alice)
    request = web_request()
    request.api_token = token  # what the API's bearer authentication sets
    trail = AuditTrail()

    record_event(verb=Verb.RUN_TRIGGERED, request=request)

    event = trail.only()
    assert (event.actor, event.actor_label, event.token_name) == (alice, "alice", "nightly CI")


def test_it_reads_the_request_being_served_through_the_middleware(client, alice, settings):
    client.force_login(alice)
    trail = AuditTrail()

    client.post("/tokens/", {"name": "laptop"}, headers={"user-agent": "curl/8"}, REMOTE_ADDR="::1")

    event = trail.only(verb=Verb.TOKEN_CREATED)
    assert (event.actor_label, event.ip_address, event.user_agent) == ("alice", "::1", "curl/8")


def test_it_keeps_an_object_described_by_hand():
    trail = AuditTrail()

    record_event(verb=Verb.ADMIN_DELETED, obj=ObjectRef("auth.group", "12", "Accounting"))

    event = trail.only()
    assert (event.object_type, event.object_id, event.object_label) == (
        "auth.group",
        "12",
        "Accounting",
    )


def test_it_refuses_an_unknown_verb():
    with pytest.raises(ValueError):
        record_event(verb="run.exploded")


def test_a_rolled_back_action_leaves_no_event_and_the_chain_head_as_it_was(alice):
    head_before = AuditChainHead.objects.values("last_event_id", "last_hash").first()
    trail = AuditTrail()

    with pytest.raises(RuntimeError), transaction.atomic():
        create_token(user=alice, name="doomed", by=alice)
        raise RuntimeError("the action fails after its event was written")

    assert trail.events() == []
    assert AuditChainHead.objects.values("last_event_id", "last_hash").first() == head_before


def test_an_event_cannot_be_changed_or_deleted_through_the_orm(alice):
    event = record_event(verb=Verb.LOGIN, actor=alice)

    event.details = {"forged": True}
    with pytest.raises(AuditEventImmutable):
        event.save()
    with pytest.raises(AuditEventImmutable):
        event.delete()
    with pytest.raises(AuditEventImmutable):
        AuditEvent.objects.filter(pk=event.pk).update(actor_label="mallory")
    with pytest.raises(AuditEventImmutable):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AuditEventImmutable), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["details"])
    assert AuditEvent.objects.get(pk=event.pk).details == {}


def test_deleting_a_user_keeps_their_events_and_name(alice):
    event = record_event(verb=Verb.LOGIN, actor=alice)

    alice.delete()

    kept = AuditEvent.objects.select_related("actor").get(pk=event.pk)
    assert (kept.actor, kept.actor_label) == (None, "alice")
