"""The scheduler's look for runs slower than a rule expects (``slower_than``)."""

from datetime import datetime

from django.db import transaction

from workflows.models import Workflow
from workflows.registry import get_registry

from ..models import WorkflowRun
from ..states import RunState
from .events import Recipients, add_code_recipients, add_rule_recipients, run_is_slow
from .models import Event, Notification, NotificationRule

BATCH = 200


def notify_slow_runs(now: datetime) -> int:
    """Write a ``slow`` notification, once per run and rule, for runs past a rule's duration."""
    written = 0
    for workflow, rule_key, slower_than, add in _slow_rules():
        started_before = now - slower_than
        told = Notification.objects.filter(
            workflow=workflow, event=Event.SLOW, details__rule=rule_key, run__state=RunState.RUNNING
        ).values("run_id")
        runs = (
            WorkflowRun.objects.filter(
                workflow=workflow, state=RunState.RUNNING, started_at__lt=started_before
            )
            .exclude(pk__in=told)
            .select_related("workflow")[:BATCH]
        )
        for run in runs:
            recipients = Recipients()
            add(recipients)
            with transaction.atomic():
                written += run_is_slow(
                    run,
                    recipients=recipients,
                    rule_key=rule_key,
                    details={"rule": rule_key, "expected_seconds": slower_than.total_seconds()},
                )
    return written


def _slow_rules():
    """(workflow, rule key, expected duration, a function adding the rule's recipients)."""
    rules = NotificationRule.objects.filter(is_active=True, slower_than__isnull=False)
    for rule in rules.select_related("workflow", "group", "channel"):
        yield (
            rule.workflow,
            f"rule{rule.pk}",
            rule.slower_than,
            lambda recipients, rule=rule: add_rule_recipients(recipients, rule.workflow, rule),
        )
    coded = {
        slug: [rule for rule in definition.notify if "slow" in rule.on]
        for slug, definition in get_registry().workflows.items()
    }
    coded = {slug: rules for slug, rules in coded.items() if rules}
    if not coded:
        return
    for workflow in Workflow.objects.filter(slug__in=coded, is_active=True):
        for index, rule in enumerate(coded[workflow.slug]):
            yield (
                workflow,
                f"code{index}",
                rule.slower_than,
                lambda recipients, workflow=workflow, rule=rule: add_code_recipients(
                    recipients, workflow, rule.to, "the workflow's code"
                ),
            )
