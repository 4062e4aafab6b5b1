"""Waiting on real processes: a test waits until the process is there, never a fixed time."""

import os
import time
from pathlib import Path


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
