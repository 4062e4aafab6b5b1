"""Which worker and scheduler processes are alive: each one's heartbeat row.

A running task's heartbeat (``TaskRun.heartbeat_at``) says its worker still runs it;
this says a process is alive even when it runs nothing: every worker process's watch
thread and every scheduler (leader or standby) refresh their row each
``BATON_HEARTBEAT_INTERVAL``. ``manage.py healthcheck worker|scheduler`` reads the rows
of its own host (a container's hostname is its own) for the container's health; the
metrics count the workers alive per queue from them. A process that stops cleanly
removes its row; the leading scheduler prunes rows silent for an hour (killed ones).
"""

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

# Rows of processes silent this long are removed (a killed container's).
FORGET_AFTER = timedelta(hours=1)


class ProcessKind(models.TextChoices):
    WORKER = "worker", "worker"
    SCHEDULER = "scheduler", "scheduler"


class ProcessHeartbeat(models.Model):
    """A worker or scheduler process, and when it last said it was alive."""

    kind = models.CharField(max_length=20, choices=ProcessKind.choices)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    queues = models.JSONField(default=list, blank=True, help_text="A worker's queues.")
    is_leader = models.BooleanField(default=False, help_text="A scheduler holding the lock.")
    tick_seconds = models.FloatField(
        null=True, blank=True, help_text="How long a scheduler's last tick took."
    )
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "runs"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "hostname", "pid"], name="one_heartbeat_per_process"
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.hostname}:{self.pid}"


def _this_process() -> dict:
    return {"hostname": socket.gethostname(), "pid": os.getpid()}  # each time: workers fork


def record_heartbeat(kind: str, **fields) -> None:
    """This process is alive (one UPDATE; an INSERT the first time)."""
    now = timezone.now()
    updated = ProcessHeartbeat.objects.filter(kind=kind, **_this_process()).update(
        seen_at=now, **fields
    )
    if not updated:
        ProcessHeartbeat.objects.get_or_create(
            kind=kind, **_this_process(), defaults={"seen_at": now, "started_at": now, **fields}
        )


def forget_heartbeat(kind: str) -> None:
    """This process stops: its row goes, so it is not counted as alive meanwhile."""
    ProcessHeartbeat.objects.filter(kind=kind, **_this_process()).delete()


def prune_heartbeats(now) -> int:
    return ProcessHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()[0]


def alive_here(kind: str, now=None) -> list[ProcessHeartbeat]:
    """This host's processes of ``kind`` heard from within ``BATON_HEARTBEAT_TIMEOUT``."""
    since = (now or timezone.now()) - timedelta(seconds=settings.BATON_HEARTBEAT_TIMEOUT)
    return list(
        ProcessHeartbeat.objects.filter(
            kind=kind, hostname=socket.gethostname(), seen_at__gte=since
        ).order_by("-seen_at")
    )
