"""What a notification says, in plain words and in its recipient's language."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import TaskLogChunk, TaskRun
from ..states import TaskState
from .models import Event, Notification

LOG_LINES = 20
# The newest chunks hold the last lines; a chunk is a flush of at most half a second.
LOG_CHUNKS = 40


@dataclass
class Message:
    """A rendered notification: the same facts for e-mail, chat and webhooks."""

    subject: str
    text: str
    link: str
    log_tail: str
    data: dict  # the webhook body's facts (see README, "Notifications")


def render(notification: Notification) -> Message:
    """The message of ``notification`` in its recipient's language."""
    with translation.override(notification.language or settings.LANGUAGE_CODE):
        run, task = notification.run, _task_of(notification)
        subject, lines = _words(notification, run, task)
        log_tail = _log_tail(task) if task is not None else ""
        link = run_link(run) if run is not None else workflow_link(notification.workflow)
        text = "\n".join(lines)
        if log_tail:
            text += "\n\n" + _("Last lines of the log of task '%(task)s':") % {
                "task": task.task_name
            }
            text += "\n" + log_tail
        text += "\n\n" + _("See it in Baton: %(link)s") % {"link": link}
        return Message(subject, text, link, log_tail, _data(notification, run, task, link))


def _words(notification: Notification, run, task) -> tuple[str, list[str]]:
    facts = {"workflow": notification.workflow.title or notification.workflow.slug}
    if run is not None:
        facts |= {"number": run.number, "duration": _duration(run)}
    if task is not None:
        facts |= {"task": task.task_name, "error": task.error or _("no error message")}
    event = notification.event
    if event == Event.FAILURE:
        subject = _("%(workflow)s #%(number)s failed") % facts
        lines = [_("Run #%(number)s of %(workflow)s failed after %(duration)s.") % facts]
        if task is not None:
            lines.append(_("Task '%(task)s' failed: %(error)s") % facts)
        elif run.note:
            lines.append(run.note)
    elif event == Event.SUCCESS:
        subject = _("%(workflow)s #%(number)s succeeded") % facts
        lines = [_("Run #%(number)s of %(workflow)s succeeded in %(duration)s.") % facts]
    elif event == Event.CANCELLED:
        subject = _("%(workflow)s #%(number)s was cancelled") % facts
        lines = [_("Run #%(number)s of %(workflow)s was cancelled.") % facts]
    elif event == Event.RETRY:
        return _retry_words(facts, task)
    elif event == Event.SLOW:
        return _slow_words(notification, facts)
    elif "skipped" in notification.details:
        return _skipped_words(notification, facts)
    else:
        return _missed_words(notification, facts)
    return f"[Baton] {subject}", lines


def _retry_words(facts: dict, task: TaskRun) -> tuple[str, list[str]]:
    facts |= {"attempt": task.attempt, "attempts": task.max_attempts}
    subject = _("%(workflow)s #%(number)s: task '%(task)s' is retried") % facts
    lines = [
        _(
            "Task '%(task)s' of run #%(number)s of %(workflow)s failed "
            "(attempt %(attempt)s of %(attempts)s) and will be tried again."
        )
        % facts,
        _("Its error: %(error)s") % facts,
    ]
    return f"[Baton] {subject}", lines


def _slow_words(notification: Notification, facts: dict) -> tuple[str, list[str]]:
    expected = timedelta(seconds=notification.details.get("expected_seconds", 0))
    subject = _("%(workflow)s #%(number)s is slow") % facts
    line = _(
        "Run #%(number)s of %(workflow)s has been running for %(duration)s, "
        "longer than the %(expected)s expected."
    ) % (facts | {"expected": duration_text(expected)})
    return f"[Baton] {subject}", [line]


def _missed_words(notification: Notification, facts: dict) -> tuple[str, list[str]]:
    slot = notification.details.get("slot")
    facts |= {
        "slot": local_time(datetime.fromisoformat(slot)) if slot else "?",
        "reason": notification.details.get("reason", ""),
    }
    subject = _("%(workflow)s missed a scheduled run") % facts
    line = _("The run of %(workflow)s due at %(slot)s did not start: %(reason)s") % facts
    return f"[Baton] {subject}", [line]


def _skipped_words(notification: Notification, facts: dict) -> tuple[str, list[str]]:
    details = notification.details
    facts |= {
        "count": details["skipped"],
        "first": local_time(datetime.fromisoformat(details["first"])),
        "last": local_time(datetime.fromisoformat(details["last"])),
        "slot": local_time(datetime.fromisoformat(details["slot"])),
    }
    subject = _("%(workflow)s missed %(count)s scheduled runs") % facts
    line = ngettext(
        "The run of %(workflow)s due at %(first)s did not start: Baton's scheduler was not "
        "running. Without catch-up, only the latest slot ran, at %(slot)s.",
        "%(count)s runs of %(workflow)s due from %(first)s to %(last)s did not start: "
        "Baton's scheduler was not running. Without catch-up, only the latest slot ran, "
        "at %(slot)s.",
        details["skipped"],
    )
    return f"[Baton] {subject}", [line % facts]


def _task_of(notification: Notification) -> TaskRun | None:
    if notification.task_run_id:
        return notification.task_run
    if notification.event != Event.FAILURE or notification.run_id is None:
        return None
    failed = TaskRun.objects.filter(run_id=notification.run_id, state=TaskState.FAILED)
    return failed.order_by("-finished_at", "-pk").first()


def _log_tail(task: TaskRun) -> str:
    # A retry notification is about the attempt that just failed, even if another began.
    chunks = TaskLogChunk.objects.filter(task_run=task, attempt=task.attempt).order_by("-seq")
    text = "".join(reversed(chunks.values_list("text", flat=True)[:LOG_CHUNKS]))
    return "\n".join(text.rstrip("\n").splitlines()[-LOG_LINES:])


def _duration(run) -> str:
    return _("no time") if run.duration is None else duration_text(run.duration)


def duration_text(duration) -> str:
    """A duration in words: "3 min 20 s", "2 h 5 min"."""
    seconds = int(duration.total_seconds())
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
    if minutes:
        return _("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": seconds}
    return _("%(seconds)d s") % {"seconds": seconds}


def run_link(run) -> str:
    return settings.BATON_SITE_URL.rstrip("/") + run.get_absolute_url()


def workflow_link(workflow) -> str:
    return settings.BATON_SITE_URL.rstrip("/") + f"/workflows/{workflow.slug}/"


def _data(notification: Notification, run, task, link: str) -> dict:
    def when(value):
        return value.isoformat() if value else None

    return {
        "event": notification.event,
        "delivery": notification.pk,
        "workflow": notification.workflow.slug,
        "run": run
        and {
            "id": run.pk,
            "number": run.number,
            "state": run.state,
            "trigger": run.trigger,
            "started_at": when(run.started_at),
            "finished_at": when(run.finished_at),
        },
        "task": task
        and {
            "name": task.task_name,
            "state": task.state,
            "attempt": task.attempt,
            "error": task.error,
        },
        "details": notification.details,
        "link": link,
        "sent_at": timezone.now().isoformat(),
    }


def local_time(value) -> str:
    return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
