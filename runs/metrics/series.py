"""Each group of Baton's series, read from the database at scrape time.

Every function runs one or two aggregate queries and returns metric families.
Counters that the database can only recount (a retried task's attempts, a run that
started) never go down; where a row's state can change back (a run retried after
it ended), the series is a gauge of the states now, so Prometheus never sees a
counter fall and mistake it for a restart.
"""

from collections import defaultdict
from datetime import timedelta

from django.db.models import Count, Min, Q, Sum
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from audit.models import AuditEvent
from workflows.models import Workflow

from ..models import TaskAttempt, TaskRun, WorkflowRun
from ..presence import ProcessHeartbeat, ProcessKind
from ..states import ACTIVE_RUN_STATES, FINISHED_RUN_STATES, RunState, TaskState
from .counters import COUNTERS, MetricCounter
from .histograms import DURATION_BUCKETS, LAG_BUCKETS

PREFIX = "baton_"


def workflow_slugs() -> dict[int, str]:
    return dict(Workflow.objects.values_list("pk", "slug"))


def workflow_families() -> list:
    counts = Workflow.objects.filter(is_active=True).aggregate(
        active=Count("pk", filter=Q(is_paused=False)), paused=Count("pk", filter=Q(is_paused=True))
    )
    family = GaugeMetricFamily(
        f"{PREFIX}workflows", "Workflows in the code, paused or not.", labels=["state"]
    )
    for state in ("active", "paused"):
        family.add_metric([state], counts[state])
    return [family]


def run_families(slugs: dict[int, str]) -> list:
    """Runs by state now, runs started, and the durations of finished runs (one scan)."""
    finished = Q(state__in=[RunState.SUCCESS, RunState.FAILED])
    rows = (
        WorkflowRun.objects.order_by()
        .values("workflow_id", "trigger", "state")
        .annotate(
            runs=Count("pk"),
            started=Count("started_at"),
            **DURATION_BUCKETS.aggregates("started_at", "finished_at", only=finished),
        )
    )
    started = defaultdict(int)
    durations = defaultdict(DURATION_BUCKETS.empty)
    counts = {}
    for row in rows:
        workflow = slugs.get(row["workflow_id"], str(row["workflow_id"]))
        counts[workflow, row["trigger"], row["state"]] = row["runs"]
        started[workflow, row["trigger"]] += row["started"]
        if row["state"] in FINISHED_RUN_STATES:
            DURATION_BUCKETS.add(durations[(workflow,)], row)
    started_family = CounterMetricFamily(
        f"{PREFIX}runs_started",
        "Runs that started (left the queue), by workflow and trigger.",
        labels=["workflow", "trigger"],
    )
    for (workflow, trigger), count in sorted(started.items()):
        started_family.add_metric([workflow, trigger], count)
    duration_family = DURATION_BUCKETS.family(
        f"{PREFIX}run_duration_seconds",
        "How long finished runs (success or failed) took, start to end, by workflow.",
        ["workflow"],
        durations,
    )
    return [_runs_in_state(counts, started), started_family, duration_family]


def _runs_in_state(counts: dict, started: dict):
    family = GaugeMetricFamily(
        f"{PREFIX}runs",
        "Runs by workflow, trigger and state, now: queued and running ones, and finished "
        "ones in the state they ended in (a run retried after it ended moves back).",
        labels=["workflow", "trigger", "state"],
    )
    # Queued and running are written as 0 too, so "nothing runs now" is a value, not a gap.
    for workflow, trigger in started:
        for state in ACTIVE_RUN_STATES:
            counts.setdefault((workflow, trigger, state), 0)
    for labels, count in sorted(counts.items()):
        family.add_metric(list(labels), count)
    return family


def task_families(slugs: dict[int, str]) -> list:
    """Attempts, retries and attempt durations by workflow and task."""
    per_task = (
        TaskRun.objects.order_by()
        .values("run__workflow_id", "task_name")
        .annotate(
            attempts=Sum("attempt"),
            tried=Count("pk", filter=Q(attempt__gt=0)),
            # The latest attempt when it succeeded; every other ended attempt is a TaskAttempt.
            **DURATION_BUCKETS.aggregates(
                "started_at", "finished_at", only=Q(state=TaskState.SUCCESS)
            ),
        )
    )
    kept = (
        TaskAttempt.objects.order_by()
        .values("task_run__run__workflow_id", "task_run__task_name")
        .annotate(**DURATION_BUCKETS.aggregates("started_at", "finished_at", only=Q()))
    )
    attempts = CounterMetricFamily(
        f"{PREFIX}task_attempts",
        "Task attempts started, by workflow and task.",
        labels=["workflow", "task"],
    )
    retries = CounterMetricFamily(
        f"{PREFIX}task_retries",
        "Task attempts after a task's first (automatic retries and retries asked for).",
        labels=["workflow", "task"],
    )
    durations = defaultdict(DURATION_BUCKETS.empty)
    for row in per_task:
        key = (slugs.get(row["run__workflow_id"], "?"), row["task_name"])
        attempts.add_metric(list(key), row["attempts"] or 0)
        retries.add_metric(list(key), (row["attempts"] or 0) - row["tried"])
        DURATION_BUCKETS.add(durations[key], row)
    for row in kept:
        key = (slugs.get(row["task_run__run__workflow_id"], "?"), row["task_run__task_name"])
        DURATION_BUCKETS.add(durations[key], row)
    duration_family = DURATION_BUCKETS.family(
        f"{PREFIX}task_duration_seconds",
        "How long each ended task attempt took (succeeded, failed, timed out, cancelled).",
        ["workflow", "task"],
        durations,
    )
    return [attempts, retries, duration_family]


def queue_families(now, known_queues) -> list:
    """Tasks waiting in and running from each queue, and how long the oldest has waited."""
    rows = (
        TaskRun.objects.filter(state__in=[TaskState.QUEUED, TaskState.RUNNING])
        .order_by()
        .values("queue", "state")
        .annotate(tasks=Count("pk"), oldest=Min("queued_at"))
    )
    queued = dict.fromkeys(known_queues, 0)
    running = dict.fromkeys(known_queues, 0)
    oldest = dict.fromkeys(known_queues, 0.0)
    for row in rows:
        queue = row["queue"]
        running.setdefault(queue, 0)
        queued.setdefault(queue, 0)
        oldest.setdefault(queue, 0.0)
        if row["state"] == TaskState.RUNNING:
            running[queue] = row["tasks"]
            continue
        queued[queue] = row["tasks"]
        if row["oldest"] is not None:
            oldest[queue] = max((now - row["oldest"]).total_seconds(), 0.0)
    families = [
        GaugeMetricFamily(f"{PREFIX}tasks_queued", "Tasks waiting for a worker.", labels=["queue"]),
        GaugeMetricFamily(f"{PREFIX}tasks_running", "Tasks running now.", labels=["queue"]),
        GaugeMetricFamily(
            f"{PREFIX}tasks_queued_oldest_age_seconds",
            "How long the oldest task waiting in the queue has waited (0: none waits).",
            labels=["queue"],
        ),
    ]
    for family, values in zip(families, (queued, running, oldest), strict=True):
        for queue in sorted(values):
            family.add_metric([queue], values[queue])
    return families


def alive_processes(now, timeout_seconds: float) -> list[ProcessHeartbeat]:
    since = now - timedelta(seconds=timeout_seconds)
    return list(ProcessHeartbeat.objects.filter(seen_at__gte=since))


def process_families(processes: list[ProcessHeartbeat], known_queues) -> list:
    """Workers alive per queue; schedulers alive, and the leader's last tick."""
    workers = dict.fromkeys(known_queues, 0)
    schedulers = {"leader": 0, "standby": 0}
    tick = GaugeMetricFamily(
        f"{PREFIX}scheduler_tick_duration_seconds",
        "How long the leading scheduler's latest tick took (due runs, recovery sweeps).",
    )
    for process in processes:
        if process.kind == ProcessKind.WORKER:
            for queue in process.queues:
                workers[queue] = workers.get(queue, 0) + 1
            continue
        schedulers["leader" if process.is_leader else "standby"] += 1
        if process.is_leader and process.tick_seconds is not None:
            tick.add_metric([], process.tick_seconds)
    workers_family = GaugeMetricFamily(
        f"{PREFIX}workers_alive",
        "Worker processes heard from lately, by queue they consume.",
        labels=["queue"],
    )
    for queue in sorted(workers):
        workers_family.add_metric([queue], workers[queue])
    schedulers_family = GaugeMetricFamily(
        f"{PREFIX}schedulers_alive", "Scheduler processes heard from lately.", labels=["role"]
    )
    for role, count in schedulers.items():
        schedulers_family.add_metric([role], count)
    return [workers_family, schedulers_family, tick]


def scheduler_lag_family():
    """Slot due (logical date) → run created by the scheduler, over scheduled runs."""
    row = WorkflowRun.objects.filter(
        trigger=WorkflowRun.Trigger.SCHEDULE, logical_date__isnull=False
    ).aggregate(**LAG_BUCKETS.aggregates("logical_date", "created_at", only=Q()))
    return LAG_BUCKETS.family(
        f"{PREFIX}scheduler_lag_seconds",
        "How late the scheduler started each scheduled run after its slot was due.",
        [],
        {(): row},
    )


def counter_families() -> list:
    """The counters of ``runs.metrics.counters`` (environment builds, container starts)."""
    families = {
        name: CounterMetricFamily(f"{PREFIX}{name}", help_text, labels=list(label_names))
        for name, (help_text, label_names) in COUNTERS.items()
    }
    for counter in MetricCounter.objects.filter(name__in=families):
        labels = counter.label_values
        label_names = COUNTERS[counter.name][1]
        families[counter.name].add_metric([labels.get(n, "") for n in label_names], counter.value)
    return list(families.values())


def audit_family():
    family = CounterMetricFamily(
        f"{PREFIX}audit_events", "Audit events written, by verb.", labels=["verb"]
    )
    rows = AuditEvent.objects.order_by().values_list("verb").annotate(events=Count("pk"))
    for verb, events in sorted(rows):
        family.add_metric([verb], events)
    return family
