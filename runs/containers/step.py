"""One attempt of a ``container(...)`` step: a container started, followed, stopped, removed.

The watch thread does for it what it does for a shell step: a timeout or a cancel
wakes this thread, which stops the container (SIGTERM, BATON_KILL_GRACE_SECONDS,
SIGKILL); the output streams to the task log with secrets masked. The container is
removed however the attempt ends; one a dead worker left is removed by ``cleanup``.
"""

import json
import logging
import secrets
import signal
import threading
from collections.abc import Callable

from django.conf import settings

from workflows.containers import memory_text
from workflows.tasks import TaskNode

from ..execution.outcome import Outcome, result_outcome
from ..execution.reconnect import survives_outages
from ..execution.step_environment import step_environment
from ..execution.watch import ActiveTask
from ..metrics.counters import increment
from ..models import TaskRun
from ..states import TaskState
from .backend import ContainerBackend, ContainerError, ContainerRequest, Exit, Started
from .labels import attempt_labels

logger = logging.getLogger(__name__)

RESULT_FILE = "/baton/result.json"
RESULT_LINES = 20


def run_container_step(
    task_run: TaskRun,
    node: TaskNode,
    *,
    params: dict,
    results: dict,
    active: ActiveTask,
    connect: Callable[[], ContainerBackend] | None = None,
) -> Outcome:
    """Run the attempt's container to its end, or until a timeout or cancel stops it."""
    if connect is None:  # Docker's client loads with the first container step, not at start
        from .docker_backend import connect
    request = container_request(task_run, node, params=params, results=results)
    try:
        backend = connect()
    except ContainerError as exc:
        return Outcome.failed(str(exc), retryable=exc.retryable)
    try:
        return _run(backend, request, task_run, node, active)
    finally:
        backend.close()


def _run(backend, request, task_run, node, active) -> Outcome:
    try:
        started = start_container(backend, request, progress=active.writer.write)
    except ContainerError as exc:
        active.writer.write(f"{exc}\n")
        return Outcome.failed(str(exc), retryable=exc.retryable)
    try:
        active.writer.write(f"[Baton: image {request.image} ({started.image_digest})]\n")
        record_image_digest(task_run, started.image_digest)
        output = ContainerOutput(active)
        ended = follow(backend, started, active, output)
        active.writer.flush(final=True)
        if active.interruption is not None:
            return Outcome.interrupted(active.interruption)
        return _outcome(backend, started, ended, node, output)
    except ContainerError as exc:  # the daemon went away while the step ran
        if active.interruption is not None:
            return Outcome.interrupted(active.interruption)
        return Outcome.failed(str(exc), retryable=exc.retryable)
    finally:
        _remove(backend, started, task_run)


def _remove(backend, started: Started, task_run: TaskRun) -> None:
    try:
        backend.remove(started.id)
    except ContainerError as exc:
        logger.warning(
            "Could not remove container %s of task run %s (%s); the recovery sweep will",
            started.id[:12],
            task_run.pk,
            exc,
        )


def start_container(backend: ContainerBackend, request: ContainerRequest, *, progress) -> Started:
    """Pull (as the step says), create and start one attempt's container."""
    try:
        started = backend.start(request, progress=progress)
    except ContainerError:
        increment("container_starts", outcome="failed")
        raise
    increment("container_starts", outcome="started")
    return started


def container_request(task_run: TaskRun, node: TaskNode, *, params, results) -> ContainerRequest:
    command, env, _ = node.resolve_command(params=params, results=results)
    spec = node.container
    return ContainerRequest(
        image=spec.image,
        command=command,
        env=step_environment(task_run, env, params=params),  # not the worker's own environment
        labels=attempt_labels(task_run),
        # Readable in `docker ps`; the suffix keeps it unique across Baton installations.
        name=f"baton-{task_run.run_id}-{task_run.task_name}-{task_run.attempt}-"
        f"{secrets.token_hex(3)}",
        workdir=spec.workdir,
        user=spec.user,
        mounts=spec.mounts,
        cpu=spec.cpu,
        memory=spec.memory,
        network=spec.network,
        pull=spec.pull,
    )


@survives_outages
def record_image_digest(task_run: TaskRun, digest: str) -> None:
    digest = digest[: TaskRun._meta.get_field("image_digest").max_length]
    task_run.image_digest = digest  # kept on the TaskAttempt if this attempt fails
    TaskRun.objects.filter(
        pk=task_run.pk, state=TaskState.RUNNING, attempt=task_run.attempt
    ).update(image_digest=digest)


class ContainerOutput:
    """The container's output: to the task log, and its last part kept for error messages.

    Baton's own lines (pull progress, the image) are in the log too, but not in those.
    """

    KEEP = 16 * 1024

    def __init__(self, active: ActiveTask):
        self.writer = active.writer
        self._recent = ""

    def write(self, text: str) -> None:
        self.writer.write(text)
        self._recent = (self._recent + text)[-self.KEEP :]

    def last_lines(self, count: int = 20) -> list[str]:
        """The last non-blank lines, secrets masked."""
        lines = self.writer.mask(self._recent).splitlines()
        return [line for line in lines if line.strip()][-count:]


def follow(backend: ContainerBackend, started: Started, active: ActiveTask, output) -> Exit:
    """The container's Exit, its output logged; ContainerError if the daemon failed us."""
    ended: list = []

    def wait():
        try:
            ended.append(backend.wait(started))
        except ContainerError as exc:
            ended.append(exc)
        active.wake.set()

    reader = threading.Thread(target=backend.stream_logs, args=(started, output.write), daemon=True)
    waiter = threading.Thread(target=wait, daemon=True)
    reader.start()
    waiter.start()
    active.wake.wait()
    if not ended:  # woken by a timeout or a cancel
        backend.stop(started, grace=settings.BATON_KILL_GRACE_SECONDS)
        waiter.join()
    reader.join(timeout=2)
    if isinstance(ended[0], ContainerError):
        raise ended[0]
    return ended[0]


def _outcome(backend, started: Started, ended: Exit, node: TaskNode, output) -> Outcome:
    if ended.out_of_memory:
        limit = node.container.memory
        told = f"limit {memory_text(limit)}" if limit else "no limit set: the machine's memory"
        return Outcome.failed(f"The container ran out of memory ({told}) and was killed.")
    if ended.code != 0:
        lines = "\n".join(output.last_lines())
        tail = f" Last lines of the log:\n{lines}" if lines else ""
        said = f"Exited with code {ended.code}{_signal_of(ended.code)}.{_memory_hint(ended, node)}"
        return Outcome.failed(f"{said}{tail}")
    try:
        written = backend.read_file(
            started, RESULT_FILE, max_bytes=settings.BATON_TASK_RESULT_MAX_BYTES
        )
    except ContainerError as exc:
        return Outcome.failed(str(exc), retryable=False)
    mask = output.writer.mask
    if written is not None:
        return _written_result(mask(written.decode("utf-8", "replace")))
    # As for a shell step, the last line of output is the result: of stdout, since
    # Docker reads stdout and stderr apart and their order in the log may vary.
    stdout = mask("\n".join(backend.last_lines(started, count=RESULT_LINES)))
    lines = [line for line in stdout.splitlines() if line.strip()]
    return Outcome(TaskState.SUCCESS, result=lines[-1] if lines else None)


def _written_result(text: str) -> Outcome:
    try:
        value = json.loads(text)
    except ValueError as exc:
        return Outcome.failed(
            f"The step wrote {RESULT_FILE}, but it is not JSON ({exc}): write it with "
            f"json.dump(...) or leave it out to return the last line of output.",
            retryable=False,
        )
    return result_outcome(value)


def _memory_hint(ended: Exit, node: TaskNode) -> str:
    """For a SIGKILLed container with a memory limit that Docker did not say it reached.

    Docker learns of an OOM kill from containerd, which watches a container's memory only
    once its process has started: one killed in its first instants is never flagged.
    """
    limit = node.container.memory
    if ended.code != 128 + signal.SIGKILL or not limit:
        return ""
    told = memory_text(limit)
    return f" It may have run out of memory (limit {told}): Docker does not always say so."


def _signal_of(code: int) -> str:
    try:
        return f" (killed by {signal.Signals(code - 128).name})" if code > 128 else ""
    except ValueError:
        return ""
