"""Reading runs, task runs and logs (pages and API build on these)."""

from django.db.models import QuerySet

from .models import TaskLogChunk, TaskRun, WorkflowRun


def runs_of_workflow(*, workflow) -> QuerySet[WorkflowRun]:
    """A workflow's runs, newest first."""
    return WorkflowRun.objects.filter(workflow=workflow).select_related("started_by")


def task_runs_of(*, run: WorkflowRun) -> QuerySet[TaskRun]:
    """A run's task runs in graph order, with their finished attempts.

    A mapped step's instances are left out: the step stands for them
    (``runs.map_selectors`` counts and lists them).
    """
    steps = run.task_runs.filter(map_index__isnull=True)
    return steps.order_by("position").prefetch_related("attempts")


def task_log(*, task_run: TaskRun, attempt: int | None = None) -> str:
    """The log of one attempt (by default the latest), as much as was written so far."""
    number = task_run.attempt if attempt is None else attempt
    chunks = TaskLogChunk.objects.filter(task_run=task_run, attempt=number).order_by("seq")
    return "".join(chunks.values_list("text", flat=True))


def task_log_after(*, task_run: TaskRun, attempt: int, after_seq: int = -1) -> tuple[str, int]:
    """The log written after chunk ``after_seq`` and the last chunk's seq: for live tailing."""
    chunks = list(
        TaskLogChunk.objects.filter(task_run=task_run, attempt=attempt, seq__gt=after_seq)
        .order_by("seq")
        .values_list("seq", "text")
    )
    if not chunks:
        return "", after_seq
    return "".join(text for _seq, text in chunks), chunks[-1][0]
