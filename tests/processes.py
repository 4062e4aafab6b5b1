"""Waiting on real processes: a test waits until the process is there, never a fixed time."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _parents() -> dict[int, int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    return parents


def _descends_from(pid: int, ancestor: int, parents: dict[int, int]) -> bool:
    while pid > 1:
        pid = parents.get(pid, 0)
        if pid == ancestor:
            return True
    return False


def _argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def wait_for_command(argv: list[str], *, timeout: float = 10.0) -> int:
    """The pid of a process running ``argv`` below this one (any depth), once one runs."""
    deadline = time.monotonic() + timeout
    while True:
        parents = _parents()
        for pid in parents:
            if _argv(pid) == argv and _descends_from(pid, os.getpid(), parents):
                return pid
        if time.monotonic() > deadline:
            raise AssertionError(f"no process runs {argv} after {timeout} s")
        time.sleep(0.02)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout: float, message: str) -> None:
    """Until ``condition()`` holds; fails with ``message`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.05)


class ManageProcess:
    """`manage.py <args>` in its own process group, its output in a file."""

    name = "the process"  # as failure messages call it
    stop_timeout: float = 15  # seconds from SIGTERM to SIGKILL

    def __init__(self, args: list[str], env: dict, log_path: Path):
        self.log_path = log_path
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_while_alive(self, condition, timeout: float, message: str) -> None:
        """Until ``condition()`` holds; fails with the output if the process ends first."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{message}:\n{self.output()}")
            time.sleep(0.05)

    def wait_for(self, text: str, timeout: float = 20) -> None:
        self.wait_while_alive(
            lambda: text in self.output(), timeout, f"no {text!r} from {self.name}"
        )

    def kill(self, sig=signal.SIGKILL) -> None:
        os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
