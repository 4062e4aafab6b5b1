"""The Owners' page of a workflow's notifications: the rules that apply and what was sent."""

from django.shortcuts import render

from accounts.permissions import workflow_for

from .events import code_rules
from .models import Event, Notification, NotificationRule

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
        "notifications": Notification.objects.filter(workflow=workflow)
        .select_related("run", "user", "channel")
        .order_by("-created_at", "-pk")[:SHOWN],
    }
    return render(request, "notifications/workflow.html", context)
