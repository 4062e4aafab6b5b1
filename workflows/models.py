from django.conf import settings
from django.db import models
from django.urls import reverse

from .tasks import TriggerRule


class Workflow(models.Model):
    """A workflow declared in code. Code-derived fields are written only by sync."""

    slug = models.SlugField(max_length=200, unique=True, help_text="The workflow function's name.")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    owners = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(
        default=True, help_text="False once the workflow was removed from code (history kept)."
    )
    is_paused = models.BooleanField(
        default=False, help_text="A paused workflow starts no scheduled run."
    )
    max_active_runs = models.PositiveIntegerField(default=16)
    catchup = models.BooleanField(default=False)
    timeout = models.DurationField(null=True, blank=True)
    schedule = models.CharField(
        max_length=200, blank=True, help_text="As declared in code: a cron string or 'every Ns'."
    )
    parameter_schema = models.JSONField(default=dict, blank=True)
    source_file = models.CharField(max_length=500, blank=True)
    source_line = models.PositiveIntegerField(default=0)
    code_hash = models.CharField(max_length=64, blank=True)
    current_version = models.ForeignKey(
        "WorkflowVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The version the code holds now (new runs are pinned to it).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        permissions = [
            ("trigger_workflow", "Can start runs of the workflow"),
            # Start runs from the workflow's presets only, without editing values.
            ("trigger_presets_workflow", "Can start runs from presets only"),
            ("manage_workflow", "Can grant others rights on the workflow"),
        ]

    def __str__(self):
        return self.title or self.slug

    def get_absolute_url(self):
        return reverse("workflows:detail", args=[self.slug])

    @property
    def summary(self) -> str:
        """The first line of the description, for lists."""
        return self.description.strip().split("\n", 1)[0] if self.description else ""


class TaskSpec(models.Model):
    """One step of a workflow's graph, as declared in code."""

    class Kind(models.TextChoices):
        PYTHON = "python", "Python"
        SHELL = "shell", "Shell command"
        APPROVAL = "approval", "Approval step"

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="tasks")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    position = models.PositiveIntegerField(help_text="Topological order in the graph.")
    upstream = models.JSONField(default=list, blank=True)
    arguments = models.JSONField(default=dict, blank=True)
    retries = models.PositiveIntegerField(default=0)
    retry_delay = models.DurationField()
    retry_backoff = models.BooleanField(default=False)
    max_retry_delay = models.DurationField()
    timeout = models.DurationField(null=True, blank=True)
    queue = models.CharField(max_length=100, default="default")
    trigger_rule = models.CharField(
        max_length=20, choices=TriggerRule.choices, default=TriggerRule.ALL_SUCCESS
    )
    requirements = models.JSONField(
        default=list, blank=True, help_text="Packages of its isolated environment, if any."
    )
    python = models.CharField(
        max_length=200, blank=True, help_text="Python version asked for (blank: the worker's)."
    )
    pool = models.CharField(max_length=100, blank=True, help_text="The pool it takes a slot of.")
    priority = models.IntegerField(default=0, help_text="Higher starts first in a full pool.")
    source_file = models.CharField(max_length=500, blank=True)
    source_line = models.PositiveIntegerField(default=0)
    group = models.CharField(
        max_length=200, blank=True, help_text="The ``with group(...)`` it was declared in."
    )

    class Meta:
        ordering = ["workflow", "position"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "name"], name="taskspec_unique_name")
        ]

    def __str__(self):
        return f"{self.workflow.slug}.{self.name}"


class WorkflowVersion(models.Model):
    """One distinct definition of a workflow, as sync first saw it; runs are pinned to one."""

    class Origin(models.TextChoices):
        GIT = "git", "git repository"
        FOLDER = "folder", "folder (BATON_WORKFLOWS_DIR)"
        APP = "app", "an app's workflows.py (deployed with Baton)"

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    code_hash = models.CharField(max_length=64)
    source = models.TextField(blank=True, help_text="The text of the workflow's file.")
    # The file's path inside the source (repository or folder), to load the stored source.
    source_path = models.CharField(max_length=500, blank=True)
    graph = models.JSONField(default=list, blank=True, help_text="The task specs, as sync stores.")
    parameter_schema = models.JSONField(default=dict, blank=True)
    origin = models.CharField(max_length=10, choices=Origin.choices)
    revision = models.CharField(
        max_length=64, blank=True, help_text="The commit sha (git) or the folder's content hash."
    )
    commit_author = models.CharField(max_length=300, blank=True)
    commit_message = models.TextField(blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "-first_seen_at", "-pk"]
        get_latest_by = "first_seen_at"
        constraints = [
            models.UniqueConstraint(
                fields=["workflow", "code_hash"], name="workflowversion_unique_hash"
            )
        ]

    def __str__(self):
        return f"{self.workflow.slug} @ {self.short_hash}"

    @property
    def short_hash(self) -> str:
        return self.code_hash[:8]

    @property
    def short_revision(self) -> str:
        return self.revision[:7] if self.origin == self.Origin.GIT else self.revision[:8]

    @property
    def subject(self) -> str:
        """The commit message's first line."""
        return self.commit_message.strip().split("\n", 1)[0] if self.commit_message else ""


class WorkflowLoadError(models.Model):
    """A file whose workflows could not be loaded at the last sync (Airflow's import errors)."""

    file = models.CharField(max_length=500)
    message = models.TextField()
    traceback = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["file"]

    def __str__(self):
        return self.message


class WorkflowSchedule(models.Model):
    """Links a django-celery-beat PeriodicTask (the when) to a workflow (the what).

    Admins edit the timing in the admin. A schedule declared in code is created
    by sync; ``code_schedule`` keeps what code last declared, so sync can tell
    an admin's later edit (the row no longer matches it) and leave it alone.
    """

    class Owner(models.TextChoices):
        CODE = "code", "code (follows the @workflow declaration)"
        ADMIN = "admin", "admin (edited in the admin; sync leaves it alone)"

    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", on_delete=models.CASCADE, related_name="baton_schedule"
    )
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="schedules")
    parameters = models.JSONField(
        default=dict, blank=True, help_text="Parameter values for the runs this schedule starts."
    )
    from_code = models.BooleanField(default=False)
    code_schedule = models.CharField(max_length=200, blank=True)
    owner = models.CharField(max_length=10, choices=Owner.choices, default=Owner.ADMIN)

    class Meta:
        constraints = [
            # One code-declared schedule per workflow: the one sync maintains.
            models.UniqueConstraint(
                fields=["workflow"],
                condition=models.Q(from_code=True),
                name="one_code_schedule_per_workflow",
            )
        ]

    def __str__(self):
        return f"{self.workflow.slug}: {self.periodic_task.name}"


class ParameterPreset(models.Model):
    """A named set of parameter values an Owner saved for a workflow ("Monthly, south region").

    People with "run with presets only" start runs from presets without editing
    the values; the values are checked against the workflow's current form each
    time one is used, since the code may have changed since it was saved.
    """

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="presets")
    name = models.CharField(max_length=100)
    parameters = models.JSONField(default=dict, blank=True)
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    saved_at = models.DateTimeField()

    class Meta:
        ordering = ["workflow_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "name"], name="preset_unique_name"),
        ]

    def __str__(self):
        return f"{self.workflow.slug}: {self.name}"
