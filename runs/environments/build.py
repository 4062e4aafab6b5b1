"""Building an environment once per machine, and holding it while a task uses it."""

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from ..metrics.counters import increment
from .interpreters import uv_binary, uv_environment
from .locks import key_lock
from .spec import EnvironmentSpec

MARKER = "baton-environment.json"  # written last: an environment without it is not ready
BUILDING = ".building"
TRASH = ".trash"
UV_CACHE = ".uv-cache"
# What uv says when the index or the network failed, rather than the requirements.
NETWORK_SIGNS = (
    "Failed to fetch",
    "error sending request",
    "Request failed after",
    "timed out",
    "dns error",
    "Connection refused",
    "Connection reset",
    "Network is unreachable",
)


class EnvironmentBuildFailed(Exception):
    """uv could not build an environment; ``retryable`` when the network was to blame."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


def environments_root() -> Path:
    return Path(settings.BATON_ENV_DIR).resolve()


def environment_path(key: str) -> Path:
    return environments_root() / key


def is_ready(path: Path) -> bool:
    return (path / MARKER).is_file()


def read_marker(path: Path) -> dict:
    return json.loads((path / MARKER).read_text())


def _no_log(text: str) -> None:
    return None


@contextlib.contextmanager
def environment_for(spec: EnvironmentSpec, *, log: Callable[[str], None]) -> Iterator[Path]:
    """The ready environment's folder, built first if need be; pruning waits while it is used."""
    root = environments_root()
    path = environment_path(spec.key)
    while True:
        with key_lock(root, spec.key, exclusive=False):
            if is_ready(path):
                os.utime(path / MARKER)  # its mtime is when it was last used
                yield path
                return
        try:
            if build_environment(spec, log=log):  # then use it, unless pruned meanwhile
                increment("environment_builds", outcome="built")
        except EnvironmentBuildFailed:
            increment("environment_builds", outcome="failed")
            raise


def build_environment(spec: EnvironmentSpec, *, log: Callable[[str], None] = _no_log) -> bool:
    """Make the environment of ``spec`` unless it exists; True if this call built it.

    One build per key per machine at a time: other callers wait on the key's lock, then
    find it ready. It is built aside and renamed into place, so no one uses half of one.
    """
    root = environments_root()
    path = environment_path(spec.key)
    if is_ready(path):
        return False

    def waiting():
        log(f"Waiting for environment {spec.short_key}, being prepared by another task…\n")

    with key_lock(root, spec.key, exclusive=True, on_wait=waiting):
        if is_ready(path):
            log(f"Environment {spec.short_key} is ready.\n")
            return False
        _build(spec, path, log)
    return True


def _build(spec: EnvironmentSpec, path: Path, log: Callable[[str], None]) -> None:
    started = time.monotonic()
    count = len(spec.requirements)
    log(f"Preparing environment {spec.short_key} ({spec.describe()})…\n")
    building = path.parent / BUILDING
    building.mkdir(parents=True, exist_ok=True)
    for stale in building.glob(f"{spec.key}-*"):  # left by a worker that died building it
        shutil.rmtree(stale, ignore_errors=True)
    aside = Path(tempfile.mkdtemp(prefix=f"{spec.key}-", dir=building))
    try:
        env = aside / "env"
        _run_uv(spec, ["venv", "--relocatable", "--quiet", "--python", spec.interpreter.path, env])
        if spec.requirements:
            listed = aside / "requirements.txt"
            listed.write_text("\n".join(spec.requirements) + "\n")
            python = env / "bin" / "python"
            _run_uv(spec, ["pip", "install", "--python", python, *_package_sources(), "-r", listed])
        count = _count_packages(env)
        _write_marker(spec, env, count)
        if path.exists():  # a folder without its marker: not ours to trust
            discard(path)
        os.rename(env, path)
    finally:
        shutil.rmtree(aside, ignore_errors=True)
    plural = "package" if count == 1 else "packages"
    log(
        f"Environment {spec.short_key} ready in {time.monotonic() - started:.1f} s "
        f"({count} {plural}).\n"
    )


def discard(path: Path) -> None:
    """Remove an environment: first out of sight (one rename), then from the disk."""
    trash = path.parent / TRASH
    trash.mkdir(parents=True, exist_ok=True)
    doomed = Path(tempfile.mkdtemp(prefix=f"{path.name}-", dir=trash))
    os.rename(path, doomed / "env")
    shutil.rmtree(doomed, ignore_errors=True)


def _package_sources() -> list[str]:
    options = []
    if settings.BATON_PIP_INDEX_URL:
        options += ["--index-url", settings.BATON_PIP_INDEX_URL]
    if settings.BATON_PIP_FIND_LINKS:
        options += ["--find-links", settings.BATON_PIP_FIND_LINKS]
        if not settings.BATON_PIP_INDEX_URL:
            options.append("--no-index")  # a wheelhouse alone: no index is asked
    return options


def _run_uv(spec: EnvironmentSpec, args: list) -> None:
    env = uv_environment()
    env.setdefault("UV_CACHE_DIR", str(environments_root() / UV_CACHE))
    command = [uv_binary(), "--no-config", *map(str, args)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env)
    except OSError as exc:
        raise EnvironmentBuildFailed(
            f"Could not start uv ({command[0]}): {exc.strerror}.", retryable=False
        ) from None
    if done.returncode != 0:
        said = _uv_message(done.stderr or done.stdout)
        raise EnvironmentBuildFailed(
            f"Could not prepare environment {spec.short_key} ({spec.describe()}): uv says:\n{said}",
            retryable=any(sign in said for sign in NETWORK_SIGNS),
        )


def _uv_message(output: str) -> str:
    lines = [line for line in output.splitlines() if not line.startswith("Using Python ")]
    return "\n".join(lines).strip() or "(no message)"


def _count_packages(env: Path) -> int:
    return sum(1 for _ in env.glob("lib/python*/site-packages/*.dist-info"))


def _write_marker(spec: EnvironmentSpec, env: Path, packages: int) -> None:
    marker = {
        "key": spec.key,
        "requirements": list(spec.requirements),
        "python": spec.interpreter.version,
        "interpreter": spec.interpreter.path,
        "packages": packages,
        "built_at": timezone.now().isoformat(),
    }
    (env / MARKER).write_text(json.dumps(marker, indent=1))
