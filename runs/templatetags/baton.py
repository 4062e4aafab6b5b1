"""Template helpers of the staff pages: states in plain words, times, durations.

{% load baton %}
{{ run|run_state }}          Succeeded
{{ task_run|task_state }}    Retrying in 40 s
{% when run.created_at %}    <time title="absolute">3 minutes ago</time>
{{ run.duration|duration }}  2 min 5 s
"""

import re
from datetime import datetime, timedelta

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from runs.models import WorkflowRun
from runs.states import RunState, TaskState

register = template.Library()

RUN_WORDS = {
    RunState.QUEUED: gettext_lazy("Waiting"),
    RunState.RUNNING: gettext_lazy("Running"),
    RunState.SUCCESS: gettext_lazy("Succeeded"),
    RunState.FAILED: gettext_lazy("Failed"),
    RunState.CANCELLED: gettext_lazy("Cancelled"),
}
TASK_WORDS = {
    TaskState.PENDING: gettext_lazy("Waiting"),
    TaskState.QUEUED: gettext_lazy("Starting"),
    TaskState.RUNNING: gettext_lazy("Running"),
    TaskState.SUCCESS: gettext_lazy("Succeeded"),
    TaskState.FAILED: gettext_lazy("Failed"),
    TaskState.UP_FOR_RETRY: gettext_lazy("Retrying"),
    TaskState.UPSTREAM_FAILED: gettext_lazy("Not run: an earlier task failed"),
    TaskState.SKIPPED: gettext_lazy("Skipped"),
    TaskState.CANCELLED: gettext_lazy("Cancelled"),
    TaskState.WAITING: gettext_lazy("On hold"),  # for a pool slot, a check, a decision
}
TRIGGER_WORDS = {
    WorkflowRun.Trigger.MANUAL: gettext_lazy("By hand"),
    WorkflowRun.Trigger.SCHEDULE: gettext_lazy("By its schedule"),
    WorkflowRun.Trigger.API: gettext_lazy("Through the API"),
    WorkflowRun.Trigger.BACKFILL: gettext_lazy("By a backfill"),
    WorkflowRun.Trigger.RETRY: gettext_lazy("As a retry"),
    WorkflowRun.Trigger.COMMAND_LINE: gettext_lazy("From the command line"),
    WorkflowRun.Trigger.DEMO: gettext_lazy("As a demo"),
}


def retry_words(next_attempt_at: datetime | None, now: datetime | None = None) -> str:
    """'Retrying in 40 s', 'Retrying in 3 min', or 'Retrying now' once due."""
    if next_attempt_at is None:
        return str(TASK_WORDS[TaskState.UP_FOR_RETRY])
    left = next_attempt_at - (now or timezone.now())
    if left.total_seconds() < 1:
        return _("Retrying now")
    return _("Retrying in %(duration)s") % {"duration": duration(left)}


def waiting_words(task_run, now=None) -> str:
    """What a waiting task waits for, in words: a decision, its next check, a pool slot.

    A pool's use ("4 of 4 in use") is shown when the page noted it.
    """
    if task_run.kind == "approval":
        group = (task_run.approval or {}).get("group", "")
        return _("Waiting for approval by %(group)s") % {"group": group}
    if task_run.next_attempt_at is not None:
        left = task_run.next_attempt_at - (now or timezone.now())
        if left.total_seconds() < 1:
            return _("Waiting: checking again now")
        return _("Waiting: next check in %(duration)s") % {"duration": duration(left)}
    use = getattr(task_run, "pool_use", None)  # see runs.pools.note_pool_use
    if use is not None:
        return use.words()
    return _("Waiting for pool %(pool)s") % {"pool": task_run.pool}


@register.filter
def run_state(run) -> str:
    """A run's state in plain words."""
    return str(RUN_WORDS.get(run.state, run.state))


@register.filter
def task_state(task_run) -> str:
    """A task run's state in plain words, with the countdown of a coming retry."""
    if task_run.state == TaskState.UP_FOR_RETRY:
        return retry_words(task_run.next_attempt_at)
    if task_run.state == TaskState.WAITING:
        return waiting_words(task_run)
    return str(TASK_WORDS.get(task_run.state, task_run.state))


@register.filter
def state_words(state: str) -> str:
    """A task state (a bare value, as in the grid) in plain words."""
    return str(TASK_WORDS.get(state, RUN_WORDS.get(state, state)))


@register.filter
def duration(value: timedelta | None) -> str:
    """A duration in short words: '45 s', '3 min 5 s', '2 h 4 min', '3 d 2 h'."""
    if value is None:
        return "—"
    exact = max(0.0, value.total_seconds())
    if exact < 0.1:
        return _("less than 0.1 s")
    if exact < 10:
        return _("%(seconds)s s") % {"seconds": formats.number_format(exact, 1)}
    seconds = int(exact)
    if seconds < 60:
        return _("%(seconds)s s") % {"seconds": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return _("%(minutes)s min %(seconds)s s") % {"minutes": minutes, "seconds": seconds}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    days, hours = divmod(hours, 24)
    return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}


def absolute_time(value: datetime) -> str:
    """The date and time in the configured time zone, formatted for the language."""
    local = timezone.localtime(value)
    return f"{formats.date_format(local, 'DATETIME_FORMAT')} ({local.tzname()})"


@register.simple_tag
def when(value: datetime | None, empty: str = "—"):
    """A relative time ('3 minutes ago', 'in 2 hours') with the absolute one on hover."""
    if value is None:
        return empty
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        absolute_time(value),
        naturaltime(value),
    )


@register.filter
def absolute(value: datetime | None) -> str:
    return absolute_time(value) if value else "—"


@register.filter
def retrying(next_attempt_at: datetime | None) -> str:
    """'Retrying in 40 s' for the time the next attempt is due."""
    return retry_words(next_attempt_at)


@register.filter
def task_duration(task_run) -> str:
    """How long the latest attempt took, or has been running; '—' before it started."""
    started, finished = task_run.started_at, task_run.finished_at
    if started is None:
        return "—"
    if finished is not None and finished < started:
        return "—"  # marked by hand before this attempt ended
    if finished is None and task_run.state != TaskState.RUNNING:
        return "—"
    return duration((finished or timezone.now()) - started)


@register.filter
def all_attempts_duration(task_run) -> str:
    """How long all attempts of a task took together ('' for a task tried once at most).

    Earlier attempts come from their records (prefetched with the task runs);
    the latest one from the task run itself unless it was recorded too.
    """
    if task_run.attempt < 2:
        return ""
    recorded = list(task_run.attempts.all())
    spans = [(a.started_at, a.finished_at) for a in recorded]
    if task_run.attempt not in {a.number for a in recorded}:
        latest_end = task_run.finished_at
        if latest_end is None and task_run.state == TaskState.RUNNING:
            latest_end = timezone.now()
        spans.append((task_run.started_at, latest_end))
    total = sum(
        ((end - start) for start, end in spans if start and end and end >= start), timedelta()
    )
    return _("%(duration)s over %(count)s attempts") % {
        "duration": duration(total),
        "count": task_run.attempt,
    }


@register.filter
def translated(text: str) -> str:
    """Text from the code (a workflow's title, description, a parameter's label), in the
    reader's language when the code gave it as ``gettext_lazy("…")`` and it is translated."""
    return _(text) if text else text


@register.filter
def translated_summary(workflow) -> str:
    """The first line of a workflow's description, in the reader's language."""
    if not workflow.description:
        return ""
    return translated(workflow.description).strip().split("\n", 1)[0]


@register.filter
def trigger_words(trigger: str) -> str:
    """How a run was started, in words: 'By hand', 'By its schedule'..."""
    return str(TRIGGER_WORDS.get(trigger, trigger))


# Colour and cursor codes some tools print: noise in a web page.
ANSI_CODES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@register.simple_tag
def log_lines(window):
    """The window's lines as numbered rows (numbers drawn by CSS, so copying skips them)."""
    return format_html_join(
        "",
        '<div id="L{0}"><a href="#L{0}" data-n="{0}" tabindex="-1" aria-hidden="true"></a>'
        "<span>{1}</span></div>",
        ((number, ANSI_CODES.sub("", text)) for number, text in window.lines),
    )


@register.simple_tag
def run_squares(runs):
    """The coloured squares of a workflow's last runs, each linking to its run.

    Built in Python: a page of 50 workflows has 500 of them, too many for the
    template engine within the page's time budget.
    """
    if not runs:
        return format_html('<span class="muted">{}</span>', _("No run yet"))
    link = reverse("runs:detail", args=[0]).replace("/0/", "/{}/")
    words = {}
    items = []
    for run in runs:
        if run.state not in words:
            words[run.state] = run_state(run)
        when = timezone.localtime(run.created_at).strftime("%Y-%m-%d %H:%M")
        label = f"#{run.number} · {words[run.state]} · {when}"
        items.append((link.format(run.pk), run.state, label, f"#{run.number} {words[run.state]}"))
    squares = format_html_join(
        "",
        '<a class="sq st-{1}" href="{0}" title="{2}"><span class="visually-hidden">{3}</span></a>',
        items,
    )
    return format_html('<span class="squares">{}</span>', squares)
