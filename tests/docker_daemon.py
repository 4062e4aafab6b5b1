"""A Docker daemon for the tests, and a tiny image made here (no image can be pulled).

``docker_host()`` answers the DOCKER_HOST of a daemon that answers: the one already named
by DOCKER_HOST, else a ``dockerd`` of this test process's own (Debian's docker.io), on a
socket and data folders of its own, stopped by its PID when the tests end.
``busybox_image(client)`` imports a root filesystem holding Debian's busybox-static.
"""

import atexit
import io
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

BUSYBOX = Path("/bin/busybox")
BUSYBOX_IMAGE = "baton-test/busybox:1"
BUSYBOX_COMMANDS = ("sh", "echo", "cat", "sleep", "env", "ls", "printf", "true", "false", "dd")


class DaemonUnavailable(Exception):
    """No daemon answers and none could be started; the message says why."""


def _answers(host: str) -> bool:
    import docker

    try:
        client = docker.DockerClient(base_url=host, timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except docker.errors.DockerException:
        return False


class OwnDaemon:
    """``dockerd`` on a socket of its own, without iptables or a bridge, on vfs storage."""

    def __init__(self):
        # A unix socket's path is limited to ~100 bytes: keep the folder short.
        self.root = Path(tempfile.mkdtemp(prefix="baton-dockerd-", dir="/tmp"))
        self.host = f"unix://{self.root}/docker.sock"
        self.log = open(self.root / "dockerd.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                shutil.which("dockerd") or "dockerd",
                "--iptables=false",
                "--bridge=none",
                "--storage-driver=vfs",
                f"--host={self.host}",
                f"--data-root={self.root}/data",
                f"--exec-root={self.root}/exec",
                f"--pidfile={self.root}/docker.pid",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not _answers(self.host):
            if self.process.poll() is not None:
                raise DaemonUnavailable(f"dockerd exited: {self._tail()}")
            if time.monotonic() > deadline:
                raise DaemonUnavailable(f"dockerd did not answer in {timeout} s: {self._tail()}")
            time.sleep(0.1)

    def _tail(self) -> str:
        return (self.root / "dockerd.log").read_text(errors="replace")[-600:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


_own: OwnDaemon | None = None


def docker_host() -> str:
    """DOCKER_HOST of a daemon that answers; starts this process's own if none does."""
    global _own
    named = os.environ.get("DOCKER_HOST", "")
    if named and _answers(named):
        return named
    if _own is not None:
        return _own.host
    if shutil.which("dockerd") is None:
        raise DaemonUnavailable("dockerd is not installed (Debian's docker.io)")
    if os.geteuid() != 0:
        raise DaemonUnavailable("dockerd needs root here")
    daemon = OwnDaemon()
    try:
        daemon.wait_ready()
    except DaemonUnavailable:
        daemon.stop()
        raise
    _own = daemon
    atexit.register(daemon.stop)
    return daemon.host


def busybox_image(client) -> str:
    """The tag of a one-binary image (Debian's busybox-static), imported once per daemon."""
    import docker

    try:
        client.images.get(BUSYBOX_IMAGE)
        return BUSYBOX_IMAGE
    except docker.errors.ImageNotFound:
        pass
    if not BUSYBOX.exists():
        raise DaemonUnavailable("busybox is not installed (Debian's busybox-static)")
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            _add_rootfs(tar)
        with open(archive, "rb") as data:
            client.api.import_image(data, repository=BUSYBOX_IMAGE.split(":")[0], tag="1")
    return BUSYBOX_IMAGE


def _add_rootfs(tar: tarfile.TarFile) -> None:
    for folder in ("bin", "tmp", "baton", "etc"):
        info = tarfile.TarInfo(folder)
        info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder in ("tmp", "baton") else 0o755
        tar.addfile(info)
    tar.add(BUSYBOX, arcname="bin/busybox")
    for command in BUSYBOX_COMMANDS:
        link = tarfile.TarInfo(f"bin/{command}")
        link.type, link.linkname = tarfile.SYMTYPE, "busybox"
        tar.addfile(link)
    passwd = b"root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"
    info = tarfile.TarInfo("etc/passwd")
    info.size, info.mode = len(passwd), 0o644
    tar.addfile(info, io.BytesIO(passwd))
