"""What a container runner needs from a container platform, whichever it is.

A backend starts one container for one attempt, streams its output, waits for its
end, stops it (SIGTERM, a grace period, SIGKILL), reads a file out of it, removes it,
and lists the containers it started that are still around. Docker implements it
(``docker_backend``); a Kubernetes Job backend would implement the same (docs/kubernetes.md).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from workflows.containers import Mount

LABEL_PREFIX = "baton."


class ContainerError(Exception):
    """The container could not be run; the message says what to fix."""

    retryable = True


class ImageUnavailable(ContainerError):
    """The image is not on the machine and cannot be pulled: retrying will not help."""

    retryable = False


class DaemonUnreachable(ContainerError):
    """No container platform answers where this worker looks for one."""


@dataclass(frozen=True)
class ContainerRequest:
    """One attempt's container: everything a backend needs to start it."""

    image: str
    command: list[str]
    env: dict[str, str]
    labels: dict[str, str]
    name: str
    workdir: str | None = None
    user: str | None = None
    mounts: tuple[Mount, ...] = ()
    cpu: float | None = None
    memory: int | None = None
    network: str = "none"
    pull: str = "missing"


@dataclass
class Started:
    """A started container: its platform id and the digest of the image it runs."""

    id: str
    image_digest: str


@dataclass(frozen=True)
class Exit:
    code: int
    out_of_memory: bool = False


@dataclass(frozen=True)
class Leftover:
    """A container some attempt started, as the platform lists it."""

    id: str
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def attempt(self) -> tuple[int, int] | None:
        """(task run id, attempt number) from its labels; None when they are unreadable."""
        try:
            return int(self.labels["baton.task_run"]), int(self.labels["baton.attempt"])
        except (KeyError, ValueError):
            return None


class ContainerBackend(Protocol):
    def start(self, request: ContainerRequest, *, progress: Callable[[str], None]) -> Started:
        """Pull as ``request.pull`` says (progress lines to ``progress``), create, start."""

    def stream_logs(self, container: Started, write: Callable[[str], None]) -> None:
        """Pass stdout and stderr to ``write`` as they come, until the container ends."""

    def last_lines(self, container: Started, *, count: int) -> list[str]:
        """The last ``count`` lines of its standard output (not stderr), once it has ended."""

    def wait(self, container: Started) -> Exit:
        """Block until the container ends."""

    def stop(self, container: Started, *, grace: float) -> None:
        """SIGTERM, up to ``grace`` seconds, then SIGKILL."""

    def read_file(self, container: Started, path: str, *, max_bytes: int) -> bytes | None:
        """The file's bytes (None if absent); ContainerError past ``max_bytes``."""

    def remove(self, container_id: str) -> None:
        """Remove it, running or not; a container already gone is fine."""

    def leftovers(self, labels: dict[str, str]) -> list[Leftover]:
        """Every container carrying ``labels``, running or not."""

    def close(self) -> None: ...
