"""Runs of workflows, runs of their tasks, each attempt of a task, and task logs."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from workflows.models import Workflow
from workflows.tasks import TriggerRule

from .states import (
    ACTIVE_RUN_STATES,
    ACTIVE_TASK_STATES,
    FINISHED_RUN_STATES,
    MARK_STATES,
    RETRYABLE_RUN_STATES,
    RUN_MOVES,
    RUN_TIMESTAMPS,
    TASK_MOVES,
    TASK_TIMESTAMPS,
    RunState,
    TaskState,
)


class MoveQuerySet(models.QuerySet):
    """``move()``: one conditional UPDATE per state change (see ``runs.states``)."""

    moves: dict = {}
    timestamps: dict = {}

    def move(self, to: str, *, now=None, **fields) -> int:
        """Move the rows of this queryset that may legally go to ``to``; returns how many did.

        The ``WHERE state IN (...)`` makes the move safe against concurrent writers:
        a row another process already moved is simply not counted.
        """
        stamp = self.timestamps.get(to)
        if stamp and stamp not in fields:
            fields[stamp] = now or timezone.now()
        return self.filter(state__in=self.moves[to]).update(state=to, **fields)


class WorkflowRunQuerySet(MoveQuerySet):
    moves = RUN_MOVES
    timestamps = RUN_TIMESTAMPS


class TaskRunQuerySet(MoveQuerySet):
    moves = TASK_MOVES
    timestamps = TASK_TIMESTAMPS


class WorkflowRun(models.Model):
    """One execution of a workflow, with the parameters it was started with."""

    class Trigger(models.TextChoices):
        MANUAL = "manual", "manual"
        SCHEDULE = "schedule", "schedule"
        API = "api", "API"
        BACKFILL = "backfill", "backfill"
        RETRY = "retry", "retry"
        COMMAND_LINE = "command_line", "command line"  # manage.py trigger
        DEMO = "demo", "demo"  # the demo runs of the first `manage.py up`

    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="runs")
    number = models.PositiveIntegerField(help_text="Sequence number within the workflow: #1, #2…")
    state = models.CharField(max_length=20, choices=RunState.choices, default=RunState.QUEUED)
    parameters = models.JSONField(default=dict, blank=True, help_text="Validated values, as JSON.")
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.MANUAL)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="started_runs",
    )
    schedule = models.ForeignKey(
        "workflows.WorkflowSchedule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
        help_text="The schedule that started it (schedule and backfill runs).",
    )
    version = models.ForeignKey(
        "workflows.WorkflowVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="runs",
        help_text="The code the run is pinned to: all its tasks run this version.",
    )
    logical_date = models.DateTimeField(null=True, blank=True)
    data_interval_start = models.DateTimeField(null=True, blank=True)
    data_interval_end = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    # Who wrote the note and when (empty for a note given when the run was started).
    note_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    cancel_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = WorkflowRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="run_unique_number"),
            # A schedule slot starts once, whichever scheduler or backfill gets there first.
            models.UniqueConstraint(
                fields=["schedule", "logical_date"],
                condition=Q(schedule__isnull=False),
                name="run_once_per_schedule_slot",
            ),
        ]
        indexes = [
            # The runs of one workflow, newest first (workflow page, API).
            models.Index(fields=["workflow", "-created_at"], name="run_by_workflow_newest"),
            # All runs, newest first, optionally filtered by state (runs page).
            models.Index(fields=["-created_at"], name="run_newest"),
            models.Index(fields=["state", "-created_at"], name="run_by_state_newest"),
            # max_active_runs: "how many runs of this workflow are running" and
            # "its oldest run waiting for a slot"; only active runs are indexed.
            models.Index(
                fields=["workflow", "state", "created_at"],
                condition=Q(state__in=ACTIVE_RUN_STATES),
                name="run_active_by_workflow",
            ),
        ]

    def __str__(self):
        return f"{self.workflow.slug} #{self.number}"

    def get_absolute_url(self):
        try:
            return reverse("runs:detail", args=[self.pk])
        except NoReverseMatch:  # the run pages come with another issue
            return ""

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_RUN_STATES

    @property
    def is_waiting(self) -> bool:
        """Queued: it starts when the workflow has a free slot (``max_active_runs``)."""
        return self.state == RunState.QUEUED

    @property
    def can_cancel(self) -> bool:
        return self.state in RUN_MOVES[RunState.CANCELLED]

    @property
    def can_retry_failed(self) -> bool:
        return self.state in RETRYABLE_RUN_STATES

    @property
    def duration(self):
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at


class TaskRun(models.Model):
    """One task of one run. ``attempt`` counts the attempts started so far."""

    # No index of its own: taskrun_unique_name (run, task_name) serves "the run's tasks".
    run = models.ForeignKey(
        WorkflowRun, on_delete=models.CASCADE, related_name="task_runs", db_index=False
    )
    task_name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, default="python")
    position = models.PositiveIntegerField(default=0, help_text="Topological order in the graph.")
    # The graph is copied from the code when the run starts, so a deploy in the
    # middle of a run cannot change which task waits for which.
    upstream = models.JSONField(default=list, blank=True)
    downstream = models.JSONField(default=list, blank=True)
    trigger_rule = models.CharField(
        max_length=20, choices=TriggerRule.choices, default=TriggerRule.ALL_SUCCESS
    )
    group = models.CharField(max_length=200, blank=True, help_text="``with group(...)`` path.")
    state = models.CharField(max_length=20, choices=TaskState.choices, default=TaskState.PENDING)
    attempt = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=1)
    queue = models.CharField(max_length=100, default="default")
    worker = models.CharField(max_length=200, blank=True, help_text="hostname:pid")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    note = models.TextField(blank=True, help_text="Why a user marked or retried this task.")
    image_digest = models.CharField(
        max_length=300, blank=True, help_text="A container step's image, as its attempt ran it."
    )
    # Dynamic mapping (``square.map(items)``): the mapped step's row says how many
    # instances it made; each instance is a row of its own, ``square[3]``.
    map_count = models.PositiveIntegerField(
        null=True, blank=True, help_text="Instances made by this mapped step, once made."
    )
    map_parent = models.CharField(
        max_length=200, blank=True, help_text="The mapped step this row is an instance of."
    )
    map_index = models.PositiveIntegerField(null=True, blank=True)
    map_item = models.JSONField(null=True, blank=True, help_text="The item this instance got.")
    # Pools, waits and approvals (runs.pools, runs.execution.waits, runs.approvals).
    pool = models.CharField(max_length=100, blank=True, help_text="The pool it takes a slot of.")
    priority = models.IntegerField(default=0, help_text="Higher starts first in a full pool.")
    wait_deadline = models.DateTimeField(
        null=True, blank=True, help_text="When a wait or an approval step gives up."
    )
    approval = models.JSONField(
        null=True, blank=True, help_text="An approval step's title and approvers group."
    )

    objects = TaskRunQuerySet.as_manager()

    class Meta:
        ordering = ["run_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "task_name"], name="taskrun_unique_name"),
        ]
        indexes = [
            # "Is anything left to do in this run?", asked each time a task ends.
            models.Index(
                fields=["run", "state"],
                condition=Q(state__in=ACTIVE_TASK_STATES),
                name="taskrun_active_by_run",
            ),
            # The scheduler's sweeps: queued too long, running with a stale
            # heartbeat, retries that are due. Finished rows (the bulk) stay out.
            models.Index(
                fields=["state", "heartbeat_at"],
                condition=Q(state__in=ACTIVE_TASK_STATES),
                name="taskrun_active_by_state",
            ),
            # The instances of one mapped step: "is one still to do?", asked as each ends
            # (state leads after the step, so the answer is one index probe), their counts.
            models.Index(
                fields=["run", "map_parent", "state"],
                condition=Q(map_index__isnull=False),
                name="taskrun_map_instance_states",
            ),
            # "How many of this pool's slots are in use, who waits for one" (runs.pools).
            models.Index(
                fields=["pool", "state"],
                condition=Q(state__in=[TaskState.QUEUED, TaskState.RUNNING, TaskState.WAITING])
                & ~Q(pool=""),
                name="taskrun_pool_use",
            ),
        ]

    def __str__(self):
        return f"{self.run} · {self.task_name}"

    @property
    def is_finished(self) -> bool:
        return self.state not in ACTIVE_TASK_STATES

    @property
    def is_map_instance(self) -> bool:
        return self.map_index is not None

    @property
    def can_retry(self) -> bool:
        """Only a finished task runs again (a running one would run twice at once)."""
        return self.state in TASK_MOVES[TaskState.PENDING]

    def can_mark_as(self, state: str) -> bool:
        if self.kind == "approval" and state == TaskState.SUCCESS:
            return False  # approved by its approvers only (four eyes: runs.approvals)
        return state in MARK_STATES and self.state in TASK_MOVES[state]

    @property
    def can_mark(self) -> bool:
        """A person may set the outcome of a task in any state (one of the two at least)."""
        return any(self.can_mark_as(state) for state in MARK_STATES)


class Pool(models.Model):
    """A limit on how many task runs, across all workflows, use one resource at once.

    Tasks name it with ``@task(pool="warehouse")``; admins create it and set its slots.
    """

    name = models.CharField(
        max_length=100,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9_.-]+$", "Use letters, digits, _, - and .")],
        help_text='As tasks name it: @task(pool="warehouse").',
    )
    slots = models.PositiveIntegerField(
        default=1, help_text="How many of its tasks may run at once (0 holds them all)."
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class TaskAttempt(models.Model):
    """An earlier attempt of a task run, kept with its error.

    Written when an attempt does not succeed (failed, timed out, cancelled), and
    for a success when a user runs the task again. The TaskRun row describes its
    latest attempt; each attempt's log is in TaskLogChunk under its number.
    """

    task_run = models.ForeignKey(TaskRun, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=20, choices=TaskState.choices)
    worker = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    image_digest = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["task_run_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["task_run", "number"], name="attempt_unique_number"),
        ]

    def __str__(self):
        return f"{self.task_run} · attempt {self.number}"


class TaskLogChunk(models.Model):
    """A piece of an attempt's log, appended while the task runs (read in ``seq`` order)."""

    task_run = models.ForeignKey(TaskRun, on_delete=models.CASCADE, related_name="log_chunks")
    attempt = models.PositiveIntegerField()
    seq = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["task_run_id", "attempt", "seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["task_run", "attempt", "seq"], name="logchunk_unique_seq"
            ),
        ]

    def __str__(self):
        return f"{self.task_run} · attempt {self.attempt} · #{self.seq}"


# Models kept beside the code that writes and reads them, imported here so that Django
# finds them: counters of events no table keeps (environment builds, container starts) for
# /metrics; notification channels, rules and the outbox; worker and scheduler heartbeats.
from .metrics.counters import MetricCounter  # noqa: E402, F401
from .notifications.models import (  # noqa: E402, F401
    Channel,
    Notification,
    NotificationRule,
    RecipientLanguage,
    RunSubscription,
)
from .presence import ProcessHeartbeat  # noqa: E402, F401
