"""The log page of one task: one tab per attempt, the tail first, older parts on demand.

While the attempt is being written, the page asks ``…/log/tail/`` every 2 s for
the lines written since (htmx appends them); "Load earlier lines" asks
``…/log/earlier/``. Both work without JavaScript too, as plain links.
"""

from dataclasses import dataclass
from datetime import datetime

from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .access import run_for, task_run_for
from .log_reader import LogReader
from .models import TaskRun
from .states import ACTIVE_TASK_STATES, TaskState

REFRESH_SECONDS = 2


@dataclass(frozen=True)
class Attempt:
    number: int
    state: str  # "" before it started
    started_at: datetime | None
    finished_at: datetime | None
    error: str = ""
    traceback: str = ""


def _attempts(task_run: TaskRun) -> list[Attempt]:
    """Every attempt of the task, the finished ones from their records, the current one live."""
    attempts = [
        Attempt(a.number, a.state, a.started_at, a.finished_at, a.error, a.traceback)
        for a in task_run.attempts.order_by("number")
    ]
    numbers = {attempt.number for attempt in attempts}
    if task_run.attempt and task_run.attempt not in numbers:
        # Not recorded: it succeeded, or it is the one running. A task waiting to
        # run again no longer says how its last attempt went.
        waiting = task_run.state in (TaskState.PENDING, TaskState.QUEUED)
        state = "" if waiting else task_run.state
        ended = None if waiting or state == TaskState.RUNNING else task_run.finished_at
        attempts.append(Attempt(task_run.attempt, state, task_run.started_at, ended))
    if not attempts:
        attempts.append(Attempt(1, "", None, None))
    return attempts


def _number(request, task_run: TaskRun, *, required: bool = False) -> int:
    """The attempt asked for by ``?attempt=`` (default: the latest); 404 for one that is not."""
    latest = max(task_run.attempt, 1)
    raw = request.GET.get("attempt", "" if required else str(latest))
    if not raw.isdigit() or not 1 <= int(raw) <= latest:
        raise Http404(_("This task has no attempt “%(attempt)s”.") % {"attempt": raw})
    return int(raw)


def _offset(request, name: str) -> int:
    raw = request.GET.get(name, "")
    if not raw.isdigit():
        raise Http404(_("“%(value)s” is not a position in this log.") % {"value": raw})
    return int(raw)


def _may_grow(task_run: TaskRun, number: int) -> bool:
    """Whether attempt ``number``'s log may still change (or a newer attempt may start)."""
    return task_run.state in ACTIVE_TASK_STATES and number >= task_run.attempt


def _being_written(task_run: TaskRun, number: int) -> bool:
    return task_run.state == TaskState.RUNNING and number == task_run.attempt


def _load(request, run_id: int, task: str):
    run, _access = run_for(request.user, run_id)
    return run, task_run_for(run, task)


def task_log(request, run_id: int, task: str):
    """The page: the attempt's tail (or the part before ``?before=``), with the attempt tabs."""
    run, task_run = _load(request, run_id, task)
    number = _number(request, task_run)
    reader = LogReader(task_run_id=task_run.pk, attempt=number)
    if "before" in request.GET:
        window, follow = reader.before(_offset(request, "before")), False
    else:
        window = reader.tail(whole_lines_only=_being_written(task_run, number))
        follow = _may_grow(task_run, number)
    attempts = _attempts(task_run)
    context = {
        "run": run,
        "workflow": run.workflow,
        "task_run": task_run,
        "attempts": attempts,
        "attempt": next((a for a in attempts if a.number == number), attempts[-1]),
        "number": number,
        "window": window,
        "follow": follow,
        "writing": _being_written(task_run, number),
        "refresh_seconds": REFRESH_SECONDS,
        "size": reader.size,
    }
    return render(request, "runs/task_log.html", context)


def task_log_tail(request, run_id: int, task: str):
    """What was written since ``?after=`` (line number ``?line=``), and whether to ask again."""
    run, task_run = _load(request, run_id, task)
    number = _number(request, task_run, required=True)
    after, line = _offset(request, "after"), max(_offset(request, "line"), 1)
    reader = LogReader(task_run_id=task_run.pk, attempt=number)
    window = reader.after(after, first_line=line, whole_lines_only=_being_written(task_run, number))
    attempts = _attempts(task_run)
    context = {
        "run": run,
        "task_run": task_run,
        "number": number,
        "attempt": next((a for a in attempts if a.number == number), attempts[-1]),
        "size": reader.size,
        "window": window,
        "follow": _may_grow(task_run, number),
        "writing": _being_written(task_run, number),
        "newer": task_run.attempt > number,
        "refresh_seconds": REFRESH_SECONDS,
    }
    return render(request, "runs/_log_tail.html", context)


def task_log_earlier(request, run_id: int, task: str):
    """The lines before ``?before=``, with the link to the ones before them."""
    run, task_run = _load(request, run_id, task)
    number = _number(request, task_run, required=True)
    reader = LogReader(task_run_id=task_run.pk, attempt=number)
    window = reader.before(_offset(request, "before"))
    context = {"run": run, "task_run": task_run, "number": number, "window": window}
    return render(request, "runs/_log_earlier.html", context)


def task_log_download(request, run_id: int, task: str):
    """The whole log of one attempt as a text file."""
    run, task_run = _load(request, run_id, task)
    number = _number(request, task_run)
    reader = LogReader(task_run_id=task_run.pk, attempt=number)
    name = slugify(f"{run.workflow.slug}-run{run.number}-{task}-attempt{number}") or "log"
    response = StreamingHttpResponse(reader.stream(), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.log"'
    return response
