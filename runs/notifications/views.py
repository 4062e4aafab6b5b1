"""The Owners' page of a workflow's notifications: the rules that apply and what was sent."""

from django.contrib.auth.models import Group
from django.shortcuts import render

from accounts.permissions import workflow_for
from workflows.notify import CHANNEL_PREFIX, GROUP_PREFIX

from .events import code_rules
from .models import Channel, Event, Notification, NotificationRule

SHOWN = 50


def workflow_notifications(request, slug):
    """Rules and the latest deliveries of one workflow (those who may manage it)."""
    workflow, access = workflow_for(request.user, slug, "manage")
    coded = {}
    for event in Event.values:
        for rule in code_rules(workflow.slug, event):
            coded[id(rule)] = rule
    context = {
        "workflow": workflow,
        "access": access,
        "rules": NotificationRule.objects.filter(workflow=workflow).select_related(
            "group", "channel"
        ),
        "code_rules": list(coded.values()),
        "unknown": unknown_recipients(coded.values()),
        "notifications": Notification.objects.filter(workflow=workflow)
        .select_related("run", "user", "channel")
        .order_by("-created_at", "-pk")[:SHOWN],
    }
    return render(request, "notifications/workflow.html", context)


def unknown_recipients(rules) -> list[str]:
    """The groups and channels the code's rules name that do not exist: they get nothing."""
    named = {recipient for rule in rules for recipient in rule.to}
    channels = {n.removeprefix(CHANNEL_PREFIX) for n in named if n.startswith(CHANNEL_PREFIX)}
    groups = {n.removeprefix(GROUP_PREFIX) for n in named if n.startswith(GROUP_PREFIX)}
    channels -= set(Channel.objects.filter(name__in=channels).values_list("name", flat=True))
    groups -= set(Group.objects.filter(name__in=groups).values_list("name", flat=True))
    return sorted(CHANNEL_PREFIX + name for name in channels) + sorted(
        GROUP_PREFIX + name for name in groups
    )
