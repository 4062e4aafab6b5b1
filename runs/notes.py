"""A run's note: one short text an Editor adds or edits, kept with who wrote it and when."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.recorder import Verb, record_event

from .models import WorkflowRun

NOTE_MAX_LENGTH = 2000


class NoteRefused(Exception):
    """The note cannot be saved as written; the message says why."""


def run_note_save(*, run: WorkflowRun, text: str, user) -> bool:
    """Set the note of ``run`` to ``text`` (blank removes it); False when nothing changed.

    The audit event records the old and the new text.
    """
    text = text.strip()
    if len(text) > NOTE_MAX_LENGTH:
        raise NoteRefused(
            _("A note holds at most %(limit)s characters; this one has %(length)s.")
            % {"limit": NOTE_MAX_LENGTH, "length": len(text)}
        )
    if "\x00" in text:
        raise NoteRefused(_("A note cannot contain a NUL character."))
    with transaction.atomic():
        locked = WorkflowRun.objects.select_for_update().select_related("workflow").get(pk=run.pk)
        if locked.note == text:
            return False
        now = timezone.now()
        WorkflowRun.objects.filter(pk=run.pk).update(note=text, note_by=user, note_at=now)
        record_event(
            verb=Verb.RUN_NOTE_CHANGED,
            actor=user,
            obj=locked,
            workflow=locked.workflow,
            details={"old": locked.note, "new": text},
        )
    run.note, run.note_by, run.note_at = text, user, now
    return True
