"""Removing the containers dead workers left behind.

A container whose attempt is no longer running (the recovery sweep declared its
worker dead, a user marked the task…) is removed, running or not. At a worker's
start, so is one whose worker was a process of this machine that is gone: it would
otherwise run on until the scheduler notices the silent heartbeat. Only this Baton's
containers are looked at (``labels.instance_labels``). When no daemon answers, the
sweep says nothing and looks again a minute later.
"""

import logging
import os
import socket
import threading
import time
from pathlib import Path

from django.db import connection

from ..models import TaskRun
from ..states import TaskState
from .backend import ContainerError, Leftover
from .docker_backend import connect, daemon_address
from .labels import instance_labels

logger = logging.getLogger(__name__)

UNREACHABLE_PAUSE = 60.0
# Daemon address → when to ask it again, after it did not answer.
_not_before: dict[str, float] = {}


def remove_leftover_containers(*, at_worker_start: bool = False) -> int:
    """Remove this Baton's containers that no running attempt owns; returns how many."""
    address = daemon_address()
    if time.monotonic() < _not_before.get(address, 0.0):
        return 0
    try:
        backend = connect(timeout=3)
    except ContainerError:
        _not_before[address] = time.monotonic() + UNREACHABLE_PAUSE
        return 0
    try:
        leftovers = backend.leftovers(instance_labels())
        doomed = _not_owned(leftovers, at_worker_start=at_worker_start)
        for leftover in doomed:
            backend.remove(leftover.id)
            logger.info(
                "Removed container %s of task run %s attempt %s (worker %s): its attempt "
                "is no longer running",
                leftover.id[:12],
                leftover.labels.get("baton.task_run"),
                leftover.labels.get("baton.attempt"),
                leftover.labels.get("baton.worker"),
            )
        return len(doomed)
    except ContainerError as exc:
        logger.warning("Could not remove left-over containers: %s", exc)
        return 0
    finally:
        backend.close()


def _not_owned(leftovers: list[Leftover], *, at_worker_start: bool) -> list[Leftover]:
    if not leftovers:
        return []
    ids = {leftover.attempt[0] for leftover in leftovers if leftover.attempt}
    running = set(
        TaskRun.objects.filter(pk__in=ids, state=TaskState.RUNNING).values_list("pk", "attempt")
    )
    return [
        leftover
        for leftover in leftovers
        if leftover.attempt not in running
        or (at_worker_start and _worker_gone(leftover.labels.get("baton.worker", "")))
    ]


def _worker_gone(worker: str) -> bool:
    """Whether ``hostname:pid`` was a process of this machine that no longer runs."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: alive
        return False
    return _is_zombie(int(pid))


def _is_zombie(pid: int) -> bool:
    # A killed worker stays a zombie until something reaps it (in a container, maybe nothing).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def remove_leftovers_in_background() -> None:
    """At a worker's start: the sweep in a thread, so that the worker does not wait for it."""

    def sweep():
        try:
            remove_leftover_containers(at_worker_start=True)
        except Exception:  # the worker runs on; the scheduler's sweep tries again
            logger.exception("Could not remove left-over containers at the worker's start")
        finally:
            connection.close()

    threading.Thread(target=sweep, name="baton-container-cleanup", daemon=True).start()
