"""A worker where no Docker daemon answers does not run container steps: it hands them back.

The attempt was just claimed (queued → running) when the worker learns its kind; the
claim is undone (running → queued, the attempt number as it was) and the message is
sent again with a delay (BATON_CONTAINER_REFUSE_DELAY), so a worker with Docker can
take it and this one does not spin on it. The task is never failed for it. The worker
logs one error when Docker stops answering and one line when it answers again; the
daemon is asked at most once every few seconds.
"""

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from ..dispatch import send_task_run
from ..execution.reconnect import survives_outages
from ..models import TaskRun
from ..states import TaskState
from .backend import DaemonUnreachable

logger = logging.getLogger(__name__)

# How long an answer ("a daemon answers" or not) is believed before asking again. A daemon
# that goes away meanwhile fails the step's attempt with the reason (and its retries apply).
RECHECK_SECONDS = 5.0


class DockerAvailability:
    """Whether this process can reach a Docker daemon, asked again after a while."""

    def __init__(self):
        self._lock = threading.Lock()
        self._problem: str | None = None
        self._asked_at = float("-inf")

    def problem(self) -> str | None:
        """Why this worker cannot run containers, or None when a daemon answers."""
        with self._lock:
            if time.monotonic() - self._asked_at < RECHECK_SECONDS:
                return self._problem
            previous, self._problem = self._problem, self._ask()
            self._asked_at = time.monotonic()
            if self._problem is not None and previous is None:
                logger.error(
                    "This worker cannot run container steps: %s. It hands them back to the "
                    "queue (they stay queued, nothing fails); run container steps on workers "
                    "with Docker (runworker --queues %s there) or start Docker here.",
                    self._problem,
                    settings.BATON_CONTAINER_QUEUE,
                )
            elif self._problem is None and previous is not None:
                logger.info("Docker answers again: this worker runs container steps.")
            return self._problem

    @staticmethod
    def _ask() -> str | None:
        # Docker's client (~300 modules) loads when a container step comes, not in every process.
        from .docker_backend import connect

        try:
            connect(timeout=3).close()
        except DaemonUnreachable as exc:
            return str(exc).rstrip(".")
        return None


DOCKER = DockerAvailability()


def refuse_without_docker(task_run: TaskRun) -> bool:
    """True when no daemon answers: the claim is undone and the message sent again later."""
    if DOCKER.problem() is None:
        return False
    if _release_claim(task_run):
        delay = timedelta(seconds=settings.BATON_CONTAINER_REFUSE_DELAY)
        send_task_run(task_run.pk, task_run.queue, delay=delay)
    return True


@survives_outages
def _release_claim(task_run: TaskRun) -> bool:
    # Not a state move of runs.states: it undoes this worker's own claim, which never
    # became an attempt. queued_at is renewed so that the scheduler does not send the
    # message a second time while this one is on its way back.
    return bool(
        TaskRun.objects.filter(
            pk=task_run.pk,
            state=TaskState.RUNNING,
            worker=task_run.worker,
            started_at=task_run.started_at,
        ).update(
            state=TaskState.QUEUED,
            attempt=F("attempt") - 1,
            worker="",
            started_at=None,
            heartbeat_at=None,
            queued_at=timezone.now(),
        )
    )
