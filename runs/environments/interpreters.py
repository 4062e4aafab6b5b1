"""The Python interpreters of this machine an isolated environment may be built on."""

import json
import os
import platform
import re
import subprocess
import sys
import sysconfig
import threading
from dataclasses import dataclass

import uv

# Querying an interpreter takes tens of milliseconds: each request is answered once a process.
_found: dict[str | None, "Interpreter"] = {}
_found_lock = threading.Lock()

_DESCRIBE = (
    "import json, platform, sys, sysconfig; print(json.dumps({'version': "
    "platform.python_version(), 'implementation': sys.implementation.name, "
    "'platform': sysconfig.get_platform()}))"
)


class PythonNotFound(Exception):
    """The ``python=`` a task asks for is not on this machine; the message lists what is."""


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: str  # "3.11.7"
    implementation: str  # "cpython"
    platform: str  # "linux-x86_64"

    @property
    def label(self) -> str:
        return f"Python {self.version}"


def uv_binary() -> str:
    """The uv executable of the pinned ``uv`` package (never one downloaded at run time)."""
    return uv.find_uv_bin()


def uv_environment() -> dict:
    """The environment uv runs in: no interpreter downloads, not the worker's virtualenv."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    return env


def find_interpreter(request: str | None) -> Interpreter:
    """The interpreter for ``python=`` (None: the worker's own); PythonNotFound if missing."""
    with _found_lock:
        if request not in _found:
            _found[request] = _worker_interpreter() if request is None else _look_up(request)
        return _found[request]


def _worker_interpreter() -> Interpreter:
    return Interpreter(
        path=sys.executable,
        version=platform.python_version(),
        implementation=sys.implementation.name,
        platform=sysconfig.get_platform(),
    )


def _look_up(request: str) -> Interpreter:
    path = request if request.startswith("/") else _uv_find(request)
    try:
        described = subprocess.run(
            [path, "-I", "-c", _DESCRIBE], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        raise PythonNotFound(_missing_message(request)) from None
    return Interpreter(path=path, **json.loads(described.stdout))


def _uv_find(request: str) -> str:
    found = subprocess.run(
        [uv_binary(), "python", "find", "--system", "--no-config", request],
        capture_output=True,
        text=True,
        env=uv_environment(),
        timeout=60,
    )
    if found.returncode != 0 or not found.stdout.strip():
        raise PythonNotFound(_missing_message(request))
    return found.stdout.strip()


def _missing_message(request: str) -> str:
    versions = available_versions()
    listed = ", ".join(versions) if versions else "none found"
    return (
        f"Python {request} (python={request!r}) is not installed on this worker machine; "
        f"it has: {listed}. Install it there, or ask for one of those."
    )


def available_versions() -> list[str]:
    """The Python versions installed on this machine, as uv sees them."""
    listed = subprocess.run(
        [uv_binary(), "python", "list", "--only-installed", "--no-config"],
        capture_output=True,
        text=True,
        env=uv_environment(),
        timeout=60,
    )
    versions = set(re.findall(r"^\w+-(\d+\.\d+\.\d+)", listed.stdout, flags=re.MULTILINE))
    return sorted(versions, key=lambda v: tuple(int(part) for part in v.split(".")))
