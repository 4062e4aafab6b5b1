"""The container backend on the Docker Engine API, through the ``docker`` SDK (DOCKER_HOST)."""

import codecs
import io
import math
import os
import tarfile
import threading
from collections.abc import Callable
from contextlib import contextmanager, suppress

import docker
import requests
from docker.errors import APIError, DockerException, ImageNotFound, NotFound
from docker.types import Mount as DockerMount
from docker.utils import parse_repository_tag

from workflows.containers import Mount

from .backend import (
    ContainerError,
    ContainerRequest,
    DaemonUnreachable,
    Exit,
    ImageUnavailable,
    Leftover,
    Started,
)

# Seconds for one ordinary API call; streams (logs, wait) have no timeout.
API_TIMEOUT = 30
# What a registry answers for an image that is not there (Docker passes its words on).
MISSING_WORDS = ("not found", "manifest unknown", "does not exist", "pull access denied")
RESULT_FOLDER = "/baton"


def connect(*, timeout: float = API_TIMEOUT) -> "DockerBackend":
    """A backend on the daemon DOCKER_HOST names (or the local socket); DaemonUnreachable if
    none answers."""
    key = (os.environ.get("DOCKER_HOST", ""), timeout)
    try:
        client = _shared_client(key)
        client.ping()
    except (DockerException, requests.RequestException) as exc:
        with _clients_lock:
            _clients.pop(key, None)
        raise DaemonUnreachable(f"No Docker daemon answers at {daemon_address()}: {exc}") from None
    return DockerBackend(client)


# One client per daemon address in each process, shared by the steps running at once: each
# new client asks the daemon its API version first. Two connections per running step (its
# log stream and its wait) and a few for short calls.
_clients: dict[tuple[str, float], docker.DockerClient] = {}
_clients_lock = threading.Lock()
MAX_CONNECTIONS = 64


def _shared_client(key: tuple[str, float]) -> docker.DockerClient:
    with _clients_lock:
        if key not in _clients:
            _clients[key] = docker.from_env(timeout=key[1], max_pool_size=MAX_CONNECTIONS)
        return _clients[key]


def daemon_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock (DOCKER_HOST is not set)"


class DockerBackend:
    """One client on one daemon; each call maps Docker's errors to ContainerError."""

    def __init__(self, client: docker.DockerClient):
        self.client = client

    def start(self, request: ContainerRequest, *, progress: Callable[[str], None]) -> Started:
        with daemon_errors():
            image = self._image(request.image, request.pull, progress)
            as_root = _runs_as_root(request.user, image)
            arguments = _create_arguments(request, result_volume=as_root)
            container = self.client.containers.create(**arguments)
            try:
                if not as_root:  # a folder its user may write, in the container's own layer
                    container.put_archive("/", _baton_folder())
                container.start()
            except (APIError, requests.RequestException) as exc:
                self.remove(container.id)
                raise ContainerError(
                    f"Docker could not start the container: {_explanation(exc)}"
                ) from None
        return Started(id=container.id, image_digest=_digest(image))

    def _image(self, image: str, pull: str, progress: Callable[[str], None]):
        if pull != "always":
            try:
                return self.client.images.get(image)
            except ImageNotFound:
                if pull == "never":
                    raise ImageUnavailable(
                        f"Image {image!r} is not on this machine, and the step says "
                        f"pull='never': load it here (docker pull, docker load) or allow a pull."
                    ) from None
        self._pull(image, progress)
        return self.client.images.get(image)

    def _pull(self, image: str, progress: Callable[[str], None]) -> None:
        repository, tag = parse_repository_tag(image)
        progress(f"Pulling image {image}\n")
        shown: dict[str, str] = {}
        try:
            for event in self.client.api.pull(
                repository, tag=tag or "latest", stream=True, decode=True
            ):
                if "error" in event:
                    raise _pull_failure(image, event["error"])
                status, layer = event.get("status", ""), event.get("id", "")
                if status and shown.get(layer) != status:  # not every progress tick
                    shown[layer] = status
                    progress(f"  {layer + ': ' if layer else ''}{status}\n")
        except APIError as exc:
            raise _pull_failure(image, _explanation(exc)) from None

    def stream_logs(self, container: Started, write: Callable[[str], None]) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            stream = self.client.api.logs(
                container.id, stdout=True, stderr=True, stream=True, follow=True
            )
            for chunk in stream:
                write(decoder.decode(chunk))
        except (APIError, requests.RequestException) as exc:
            write(f"\n[Baton: the container's output stopped coming: {_explanation(exc)}]\n")
        write(decoder.decode(b"", final=True))

    def last_lines(self, container: Started, *, count: int) -> list[str]:
        with daemon_errors():
            text = self.client.api.logs(container.id, stdout=True, stderr=False, tail=count)
        return text.decode("utf-8", "replace").splitlines()

    def wait(self, container: Started) -> Exit:
        with daemon_errors():
            code = self.client.api.wait(container.id)["StatusCode"]
            state = self.client.api.inspect_container(container.id)["State"]
        return Exit(code=code, out_of_memory=bool(state.get("OOMKilled")))

    def stop(self, container: Started, *, grace: float) -> None:
        # Docker sends the image's stop signal (SIGTERM), waits, then SIGKILLs; whole seconds.
        with daemon_errors(), suppress(NotFound):
            self.client.api.stop(container.id, timeout=max(1, math.ceil(grace)))

    def read_file(self, container: Started, path: str, *, max_bytes: int) -> bytes | None:
        with daemon_errors():
            try:
                stream, stat = self.client.api.get_archive(container.id, path)
            except NotFound:
                return None
            if stat.get("size", 0) > max_bytes:
                raise ContainerError(
                    f"{path} holds {stat['size']:,} bytes, over the limit of {max_bytes:,} "
                    f"(BATON_TASK_RESULT_MAX_BYTES): store large data elsewhere and return "
                    f"where to find it."
                )
            archive = io.BytesIO(b"".join(stream))
        with tarfile.open(fileobj=archive) as tar:
            member = tar.next()
            extracted = tar.extractfile(member) if member is not None else None
            return extracted.read() if extracted is not None else None

    def remove(self, container_id: str) -> None:
        with daemon_errors():
            try:
                self.client.api.remove_container(container_id, force=True, v=True)
            except NotFound:
                pass
            except APIError as exc:
                if exc.status_code != 409:  # 409: its removal is already in progress
                    raise

    def leftovers(self, labels: dict[str, str]) -> list[Leftover]:
        with daemon_errors():
            found = self.client.api.containers(
                all=True, filters={"label": [f"{key}={value}" for key, value in labels.items()]}
            )
        return [Leftover(id=row["Id"], labels=row.get("Labels") or {}) for row in found]

    def close(self) -> None:
        pass  # the client is the process's, for the next steps


@contextmanager
def daemon_errors():
    """Docker's errors as ContainerError; "the daemon does not answer" as DaemonUnreachable."""
    try:
        yield
    except requests.RequestException as exc:
        raise DaemonUnreachable(
            f"The Docker daemon at {daemon_address()} stopped answering: {exc}"
        ) from None
    except APIError as exc:
        raise ContainerError(f"Docker refused: {_explanation(exc)}") from None


def _runs_as_root(user: str | None, image) -> bool:
    effective = user if user is not None else image.attrs.get("Config", {}).get("User") or ""
    return effective.split(":")[0] in ("", "root", "0")


def _create_arguments(request: ContainerRequest, *, result_volume: bool) -> dict:
    mounts = [_docker_mount(mount) for mount in request.mounts]
    if result_volume and not any(mount.target == RESULT_FOLDER for mount in request.mounts):
        # An anonymous volume (removed with the container) makes /baton where root may write
        # result.json, ~90 ms cheaper than writing the folder in (put_archive).
        mounts.append(DockerMount(RESULT_FOLDER, None, type="volume"))
    arguments = {
        "image": request.image,
        "command": request.command or None,  # None: the image's own command
        "environment": request.env,
        "labels": request.labels,
        "name": request.name,
        "working_dir": request.workdir,
        "user": request.user,
        "network_mode": request.network,
        "mounts": mounts,
        # tini as PID 1 passes SIGTERM on to the command (PID 1 ignores signals it has no
        # handler for) and reaps its zombies.
        "init": True,
        "detach": True,
    }
    if request.memory is not None:
        # The same swap limit, so that the step is killed at its limit rather than swapping.
        arguments.update(mem_limit=request.memory, memswap_limit=request.memory)
    if request.cpu is not None:
        arguments["nano_cpus"] = int(request.cpu * 1e9)
    return {key: value for key, value in arguments.items() if value is not None}


def _docker_mount(mount: Mount) -> DockerMount:
    kind = "bind" if mount.is_bind else "volume"
    return DockerMount(mount.target, mount.source, type=kind, read_only=mount.read_only)


def _baton_folder() -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        folder = tarfile.TarInfo("baton")
        folder.type, folder.mode = tarfile.DIRTYPE, 0o1777  # writable whatever user= is
        tar.addfile(folder)
    return data.getvalue()


def _digest(image) -> str:
    """The registry digest (name@sha256:…) when the image came from one, else its image id."""
    digests = image.attrs.get("RepoDigests") or []
    return digests[0] if digests else image.id


def _pull_failure(image: str, explanation: str) -> ContainerError:
    if any(words in explanation.lower() for words in MISSING_WORDS):
        return ImageUnavailable(
            f"Image {image!r} does not exist (or this machine may not pull it): {explanation}"
        )
    return ContainerError(f"Could not pull image {image!r}: {explanation}")


def _explanation(exc: Exception) -> str:
    if isinstance(exc, APIError) and exc.explanation:
        return str(exc.explanation)
    return str(exc)
