"""Reads behind the pages for mapped steps: their instances counted by state, and listed.

A mapped step of 10,000 instances is one row on the run page and the grid, with
its counts ("1,998 succeeded, 2 failed"); its instances that did not succeed (or
are still going) are listed under it, a bounded number of them.
"""

from collections import Counter, defaultdict

from django.db.models import Count
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy

from .models import TaskRun
from .states import TaskState

INSTANCES_LISTED = 50

# The order counts are told in, and their words ("1,998 succeeded").
COUNT_WORDS = {
    TaskState.SUCCESS: gettext_lazy("%(count)s succeeded"),
    TaskState.FAILED: gettext_lazy("%(count)s failed"),
    TaskState.RUNNING: gettext_lazy("%(count)s running"),
    TaskState.UP_FOR_RETRY: gettext_lazy("%(count)s retrying"),
    TaskState.QUEUED: gettext_lazy("%(count)s starting"),
    TaskState.PENDING: gettext_lazy("%(count)s waiting"),
    TaskState.CANCELLED: gettext_lazy("%(count)s cancelled"),
}


def instance_counts(run_ids: list[int]) -> dict[tuple[int, str], Counter]:
    """(run id, mapped step) → its instances counted by state, in one query."""
    rows = (
        TaskRun.objects.filter(run_id__in=run_ids, map_index__isnull=False)
        .values_list("run_id", "map_parent", "state")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = defaultdict(Counter)
    for run_id, parent, state, n in rows:
        counts[run_id, parent][state] = n
    return counts


def counts_words(counts: Counter) -> str:
    """ "1,998 succeeded, 2 failed": the counts in a fixed order, the unusual states last."""
    told = [state for state in COUNT_WORDS if counts.get(state)]
    told += sorted(state for state in counts if state not in COUNT_WORDS and counts[state])
    words = []
    for state in told:
        count = number_format(counts[state], force_grouping=True)
        template = COUNT_WORDS.get(state)
        words.append(str(template) % {"count": count} if template else f"{count} {state}")
    return ", ".join(words)


def note_map_instances(run, task_runs: list[TaskRun]) -> None:
    """Give each mapped step of ``task_runs`` its counts in words and the instances to list.

    Two queries when the run has a mapped step that made instances, none otherwise.
    """
    mapped = [task for task in task_runs if task.map_count]
    if not mapped:
        return
    counts = instance_counts([run.pk])
    listed = _instances_to_list(run, [task.task_name for task in mapped])
    for task in mapped:
        task.map_words = counts_words(counts.get((run.pk, task.task_name), Counter()))
        task.map_listed = listed.get(task.task_name, [])


def _instances_to_list(run, parents: list[str]) -> dict[str, list[TaskRun]]:
    # Those not succeeded: what someone opens the page for. A bounded number per step.
    rows = (
        TaskRun.objects.filter(run=run, map_parent__in=parents, map_index__isnull=False)
        .exclude(state=TaskState.SUCCESS)
        .order_by("map_parent", "map_index")
        .defer("result", "traceback", "map_item")
    )
    listed = defaultdict(list)
    for row in rows[: INSTANCES_LISTED * len(parents)]:
        if len(listed[row.map_parent]) < INSTANCES_LISTED:
            listed[row.map_parent].append(row)
    return listed
