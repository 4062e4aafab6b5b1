"""Writes on workflows made by people (not by sync): pausing and unpausing.

The pages, the API and the admin's actions call these (the admin's form shows
``is_paused`` read-only); no other code writes ``Workflow.is_paused``, so the
audit event is written in the same transaction wherever the change comes from.
"""

from django.db import transaction

from audit.recorder import Verb, record_event

from .models import Workflow


def pause_workflow(*, workflow: Workflow, paused: bool, user) -> bool:
    """Pause (``paused=True``) or unpause a workflow; False when it already was so.

    A paused workflow's schedules start nothing; people may still start runs by
    hand. One conditional UPDATE, so two people pressing the button at once
    record one change, not two.
    """
    with transaction.atomic():
        changed = Workflow.objects.filter(pk=workflow.pk, is_paused=not paused).update(
            is_paused=paused
        )
        if changed:
            # audit: workflow.paused/unpaused
            verb = Verb.WORKFLOW_PAUSED if paused else Verb.WORKFLOW_UNPAUSED
            record_event(verb=verb, actor=user, obj=workflow, workflow=workflow)
    workflow.is_paused = paused
    return bool(changed)
