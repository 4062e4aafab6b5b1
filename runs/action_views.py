"""The actions on a run page: cancel, retry failed tasks, retry one task, mark a task, the note.

All are POSTs (with Django's CSRF check) that call ``runs.services`` and go back to
the run page with a message saying what happened, or why nothing did. Cancel,
mark and the note first show a small form page (confirmation, reason, text).

Each needs "change" on the run's workflow (Editors and above), as in the API.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from .access import run_for, task_run_for
from .forms import CancelRunForm, MarkTaskForm, RunNoteForm
from .notes import NoteRefused, run_note_save
from .services import (
    ActionRefused,
    WorkflowNotRunnable,
    cancel_run,
    mark_task,
    retry_failed_tasks,
    retry_task,
)
from .states import TaskState

REFUSALS = (ActionRefused, WorkflowNotRunnable)


def cancel(request, run_id: int):
    """Ask for confirmation and an optional reason (GET), then cancel (POST)."""
    run, _access = run_for(request.user, run_id, "change")
    form = CancelRunForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if cancel_run(run=run, user=request.user, reason=form.cleaned_data["reason"]):
            messages.success(
                request,
                _("Run #%(number)s is cancelled: tasks still running stop within a few seconds.")
                % {"number": run.number},
            )
        else:
            messages.info(
                request, _("Run #%(number)s had already finished.") % {"number": run.number}
            )
        return redirect(run.get_absolute_url())
    if request.method == "GET" and not run.can_cancel:
        messages.info(request, _("Run #%(number)s had already finished.") % {"number": run.number})
        return redirect(run.get_absolute_url())
    context = {"run": run, "workflow": run.workflow, "form": form}
    return render(request, "runs/cancel.html", context, status=400 if form.errors else 200)


def note(request, run_id: int):
    """Add, edit or remove the run's note (Editors and above)."""
    run, _access = run_for(request.user, run_id, "change")
    initial = {"note": run.note}
    form = RunNoteForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            changed = run_note_save(run=run, text=form.cleaned_data["note"], user=request.user)
        except NoteRefused as exc:
            form.add_error("note", str(exc))
        else:
            if not changed:
                messages.info(request, _("Nothing changed: the note already said that."))
            elif run.note:
                messages.success(request, _("The note is saved."))
            else:
                messages.success(request, _("The note is removed."))
            return redirect(run.get_absolute_url())
    context = {"run": run, "workflow": run.workflow, "form": form}
    return render(request, "runs/note.html", context, status=400 if form.errors else 200)


@require_POST
def retry_failed(request, run_id: int):
    run, _access = run_for(request.user, run_id, "change")
    try:
        count = retry_failed_tasks(run=run, user=request.user)
    except REFUSALS as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            ngettext("%(count)s task will run again.", "%(count)s tasks will run again.", count)
            % {"count": count},
        )
    return redirect(run.get_absolute_url())


@require_POST
def retry_one(request, run_id: int, task: str):
    run, _access = run_for(request.user, run_id, "change")
    task_run = task_run_for(run, task)
    try:
        count = retry_task(task_run=task_run, user=request.user)
    except REFUSALS as exc:
        messages.error(request, str(exc))
    else:
        others = count - 1
        if others <= 0:
            done = _("Task “%(task)s” will run again.") % {"task": task}
        else:
            done = ngettext(
                "Task “%(task)s” will run again, with %(others)s task after it.",
                "Task “%(task)s” will run again, with the %(others)s tasks after it.",
                others,
            ) % {"task": task, "others": others}
        messages.success(request, done)
    return redirect(run.get_absolute_url())


def mark(request, run_id: int, task: str):
    """Set a task's outcome by hand, with a required reason (a small form page)."""
    run, _access = run_for(request.user, run_id, "change")
    task_run = task_run_for(run, task)
    form = MarkTaskForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        state = form.cleaned_data["state"]
        try:
            changed = mark_task(
                task_run=task_run,
                state=state,
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except REFUSALS as exc:
            form.add_error(None, str(exc))
        else:
            if changed:
                if state == TaskState.SUCCESS:
                    done = _("Task “%(task)s” is marked as succeeded.")
                else:
                    done = _("Task “%(task)s” is marked as failed.")
                messages.success(request, done % {"task": task})
            else:
                messages.info(request, _("Nothing changed: the task already had that state."))
            return redirect(run.get_absolute_url())
    context = {"run": run, "workflow": run.workflow, "task_run": task_run, "form": form}
    return render(request, "runs/mark_task.html", context, status=400 if form.errors else 200)
