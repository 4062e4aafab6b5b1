"""Events that people hear about: each writes its outbox rows in the caller's transaction.

Called where the state changes (a run ends, a task is retried, the scheduler sees a
slow run or a missed slot), inside that change's transaction: if it rolls back, no
message is left behind; if it commits, the message will go out. Rules come from
the admin (``NotificationRule``) and from the code (``@workflow(notify=...)``);
each recipient gets one row per event, however many rules name them.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from workflows.models import Workflow
from workflows.notify import CHANNEL_PREFIX, GROUP_PREFIX, OWNERS
from workflows.registry import get_registry
from workflows.schedules import slots_between

from .models import END_EVENTS, Channel, Event, Notification, NotificationRule, RunSubscription
from .outbox import wake_sender
from .recipients import language_of, owners_of

logger = logging.getLogger(__name__)

# Slots counted when a schedule skipped some during downtime ("at least 1000").
SKIPPED_COUNTED = 1000


@dataclass
class Recipients:
    """Who gets a message, each with the rule that asked (users by pk, channels by pk)."""

    users: dict[int, tuple[str, str]] = field(default_factory=dict)  # pk → (why, language)
    channels: dict[int, tuple[str, str]] = field(default_factory=dict)  # pk → (why, language)

    def add_users(self, users, why: str, language: str | None = None) -> None:
        for user in users:
            if user.pk not in self.users:
                self.users[user.pk] = (why, language or language_of(user))

    def add_channel(self, channel: Channel | None, why: str) -> None:
        if channel is not None and channel.is_active:
            self.channels.setdefault(channel.pk, (why, channel.language))

    def __bool__(self):
        return bool(self.users or self.channels)


def run_ended(run, state: str, *, now: datetime) -> int:
    """A run ended ``state`` (success, failed, cancelled): tell its rules and subscribers."""
    event = {"success": Event.SUCCESS, "failed": Event.FAILURE}.get(state, Event.CANCELLED)
    workflow = Workflow.objects.only("slug").get(pk=run.workflow_id)
    recipients = _from_rules(workflow, event)
    if event in END_EVENTS:
        for subscription in RunSubscription.objects.filter(run_id=run.pk).select_related("user"):
            if subscription.user.is_active:
                recipients.add_users(
                    [subscription.user], "Notify me when it ends", subscription.language
                )
    return _write(event, workflow, recipients, f"run{run.pk}@{now.isoformat()}", run_id=run.pk)


def subscribe(run, user) -> None:
    """ "Notify me when it ends": ``user`` hears how ``run`` ended, in their language."""
    RunSubscription.objects.get_or_create(
        run=run, user=user, defaults={"language": language_of(user)}
    )


def task_retried(task_run, *, workflow_id: int) -> int:
    """A task failed and will be tried again: tell the workflow's ``retry`` rules."""
    workflow = Workflow.objects.only("slug").get(pk=workflow_id)
    recipients = _from_rules(workflow, Event.RETRY)
    return _write(
        Event.RETRY,
        workflow,
        recipients,
        f"task{task_run.pk}#{task_run.attempt}",
        run_id=task_run.run_id,
        task_run_id=task_run.pk,
    )


def run_is_slow(run, *, recipients: Recipients, rule_key: str, details: dict) -> int:
    """A run is still running past a rule's expected duration (see ``runs.notifications.slow``)."""
    occurrence = f"run{run.pk}/{rule_key}"
    return _write(Event.SLOW, run.workflow, recipients, occurrence, run_id=run.pk, details=details)


def schedule_missed(schedule, *, slot: datetime, reason: str) -> int:
    """A schedule slot passed without a run (its parameters no longer fit, the code is gone)."""
    workflow = schedule.workflow
    recipients = _from_rules(workflow, Event.MISSED_SCHEDULE)
    return _write(
        Event.MISSED_SCHEDULE,
        workflow,
        recipients,
        f"schedule{schedule.pk}@{slot.isoformat()}",
        details={"slot": slot.isoformat(), "reason": reason, "schedule": str(schedule)},
    )


def slots_skipped(schedule, *, previous: datetime | None, started: datetime) -> int:
    """After downtime, a schedule without catch-up ran only its latest slot: the others missed.

    ``previous``: its slot before the downtime; ``started``: the slot that just ran.
    """
    if previous is None or schedule.workflow.catchup:
        return 0
    skipped = slots_between(schedule.periodic_task, previous, started, limit=SKIPPED_COUNTED)[:-1]
    if not skipped:
        return 0
    workflow = schedule.workflow
    return _write(
        Event.MISSED_SCHEDULE,
        workflow,
        _from_rules(workflow, Event.MISSED_SCHEDULE),
        f"schedule{schedule.pk}@{started.isoformat()}/skipped",
        details={
            "skipped": len(skipped),
            "first": skipped[0].isoformat(),
            "last": skipped[-1].isoformat(),
            "slot": started.isoformat(),
            "schedule": str(schedule),
        },
    )


def _from_rules(workflow: Workflow, event: str) -> Recipients:
    recipients = Recipients()
    for rule in _admin_rules(workflow, event):
        add_rule_recipients(recipients, workflow, rule)
    for rule in code_rules(workflow.slug, event):
        add_code_recipients(recipients, workflow, rule.to, "the workflow's code")
    return recipients


def _admin_rules(workflow: Workflow, event: str):
    rules = NotificationRule.objects.filter(workflow=workflow, is_active=True)
    flag = {
        Event.FAILURE: "on_failure",
        Event.SUCCESS: "on_success",
        Event.RETRY: "on_retry",
        Event.MISSED_SCHEDULE: "on_missed_schedule",
    }.get(event)
    if flag is None:
        return rules.none()
    return rules.filter(**{flag: True}).select_related("group", "channel")


def add_rule_recipients(recipients: Recipients, workflow: Workflow, rule: NotificationRule) -> None:
    why = f"rule #{rule.pk}"
    if rule.to_owners:
        recipients.add_users(owners_of(workflow), why)
    if rule.group_id:
        recipients.add_users(_members(rule.group), why)
    recipients.add_channel(rule.channel, why)


def code_rules(slug: str, event: str) -> list:
    definition = get_registry().get(slug)
    return [rule for rule in getattr(definition, "notify", ()) if event in rule.on]


def add_code_recipients(recipients: Recipients, workflow: Workflow, to, why: str) -> None:
    for recipient in to:
        if recipient == OWNERS:
            recipients.add_users(owners_of(workflow), why)
        elif recipient.startswith(GROUP_PREFIX):
            group = Group.objects.filter(name=recipient.removeprefix(GROUP_PREFIX)).first()
            if group is None:
                logger.warning("Workflow %s notifies %r: no such group", workflow.slug, recipient)
            else:
                recipients.add_users(_members(group), why)
        elif recipient.startswith(CHANNEL_PREFIX):
            name = recipient.removeprefix(CHANNEL_PREFIX)
            channel = Channel.objects.filter(name=name).first()
            if channel is None:
                logger.warning("Workflow %s notifies %r: no such channel", workflow.slug, recipient)
            recipients.add_channel(channel, why)


def _members(group: Group):
    return get_user_model().objects.filter(groups=group, is_active=True).exclude(email="")


def _write(
    event: str, workflow: Workflow, recipients: Recipients, occurrence: str, **fields
) -> int:
    if not recipients:
        return 0
    rows = [
        Notification(
            key=f"{event}:{occurrence}:user{pk}",
            event=event,
            workflow=workflow,
            user_id=pk,
            why=why,
            language=language,
            **fields,
        )
        for pk, (why, language) in recipients.users.items()
    ]
    rows += [
        Notification(
            key=f"{event}:{occurrence}:channel{pk}",
            event=event,
            workflow=workflow,
            channel_id=pk,
            why=why,
            language=language,
            **fields,
        )
        for pk, (why, language) in recipients.channels.items()
    ]
    # A second report of the same event (a retried commit, a second scheduler) adds nothing.
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(wake_sender)  # this process's sender goes at once
    return len(rows)
