"""The run pages: all runs (filtered, paginated) and one run, refreshed live while it runs.

The run page refreshes itself with htmx: while the run is active, its live
part asks for ``/runs/<id>/`` again every 2 seconds with the HX-Request header
and swaps in the fragment it gets, so the page never reloads and keeps its scroll.
"""

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers

from accounts.permissions import workflows_for
from workflows.presenters import graph_of, shown_value
from workflows.registry import get_registry
from workflows.selectors import pinned_version_of

from .access import run_for
from .forms import RunFilterForm
from .map_selectors import note_map_instances
from .page_selectors import run_headline_state, runs_for_user
from .pagination import page_of
from .pools import note_pool_use
from .selectors import task_runs_of
from .states import ACTIVE_TASK_STATES, TaskState
from .templatetags.baton import retry_words, run_state, waiting_words
from .timeline import timeline_of

RUNS_PER_PAGE = 50
# How often (s) an active run's page asks for news.
REFRESH_SECONDS = 2


def run_list(request):
    """All runs of the workflows this user may see, newest first, filtered and paginated."""
    choices = workflows_for(request.user, "view").order_by("title").values_list("slug", "title")
    form = RunFilterForm(request.GET, workflows=list(choices))
    form.is_valid()
    runs = runs_for_user(user=request.user, filters=form.filters())
    page = page_of(request, runs, per_page=RUNS_PER_PAGE)
    context = {
        "form": form,
        "page": page,
        "filtered": any(value for value in form.filters().values()),
    }
    return render(request, "runs/list.html", context)


def run_detail(request, run_id: int):
    """One run: its state in words, parameters, tasks, graph, timeline, and the actions."""
    run, access = run_for(request.user, run_id)
    task_runs = list(task_runs_of(run=run))
    note_map_instances(run, task_runs)  # "1,998 succeeded, 2 failed"
    note_pool_use(task_runs)  # "waiting for pool warehouse (4 of 4 in use)"
    context = _live_context(run, access, task_runs)
    if request.htmx:
        response = render(request, "runs/_live.html", context)
    else:
        context.update(_static_context(run, task_runs))
        response = render(request, "runs/detail.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _headline_words(run, headline, retry_at, task_runs) -> str:
    if headline == TaskState.UP_FOR_RETRY:
        return retry_words(retry_at)
    if headline == TaskState.WAITING:  # what its first task on hold waits for
        return waiting_words(next(t for t in task_runs if t.state == TaskState.WAITING))
    return run_state(run)


def _live_context(run, access, task_runs) -> dict:
    """What changes while the run runs: states, timings, timeline, the actions allowed."""
    headline, retry_at = run_headline_state(run, task_runs)
    retrying = headline == TaskState.UP_FOR_RETRY
    return {
        "run": run,
        "workflow": run.workflow,
        "task_runs": task_runs,
        "headline": headline,
        "headline_words": _headline_words(run, headline, retry_at, task_runs),
        "retrying": retrying,
        "active": not run.is_finished,
        "refresh_seconds": REFRESH_SECONDS,
        "timeline": timeline_of(run, task_runs),
        "task_states": {task.task_name: task.state for task in task_runs},
        "access": access,
        "any_task_active": any(task.state in ACTIVE_TASK_STATES for task in task_runs),
        "any_result": any(task.result is not None for task in task_runs),
        # Its version, and whether the code changed since it started (a deploy meanwhile).
        "version": pinned_version_of(run),
        "now": timezone.now(),
    }


def _static_context(run, task_runs) -> dict:
    """What a run keeps from start to end: parameters, who started it, the graph's shape."""
    links = {
        task.task_name: reverse("runs:task_log", args=[run.pk, task.task_name])
        for task in task_runs
    }
    states = {task.task_name: task.state for task in task_runs}
    return {
        "parameters": _parameters_shown(run),
        "graph": graph_of(task_runs, states=states, links=links),
    }


def _parameters_shown(run) -> list[tuple[str, str]]:
    """(label, value) of each parameter the run was started with, labelled as in its form."""
    definition = get_registry().get(run.workflow.slug)
    labels = {p.name: p.label for p in definition.parameters} if definition else {}
    return [(labels.get(name, name), shown_value(value)) for name, value in run.parameters.items()]
