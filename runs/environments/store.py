"""What BATON_ENV_DIR holds: listing, pruning, and the check a worker makes at start."""

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.utils import timezone

from .build import MARKER, discard, environments_root, is_ready, read_marker
from .locks import key_lock_if_free


class EnvironmentDirUnusable(Exception):
    """BATON_ENV_DIR cannot be created or written by this process."""


@dataclass
class StoredEnvironment:
    key: str
    path: Path
    requirements: list[str]
    python: str
    size: int  # bytes
    last_used: datetime

    @property
    def size_mb(self) -> float:
        return self.size / 1024 / 1024


def check_env_dir() -> Path:
    """BATON_ENV_DIR, created if need be; EnvironmentDirUnusable (one line) if not writable."""
    root = environments_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as exc:
        raise EnvironmentDirUnusable(
            f"BATON_ENV_DIR={root} is not a folder this worker can write ({exc.strerror}); "
            f"set BATON_ENV_DIR to one it can, e.g. /var/lib/baton/envs."
        ) from None
    return root


def stored_environments() -> list[StoredEnvironment]:
    """The ready environments, least recently used first."""
    root = environments_root()
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        if path.name.startswith(".") or not is_ready(path):
            continue
        marker = read_marker(path)
        used = (path / MARKER).stat().st_mtime
        found.append(
            StoredEnvironment(
                key=path.name,
                path=path,
                requirements=marker["requirements"],
                python=marker["python"],
                size=_size_of(path),
                last_used=datetime.fromtimestamp(used, tz=timezone.get_current_timezone()),
            )
        )
    return sorted(found, key=lambda env: env.last_used)


def prune_environments(
    *, max_age_days: int, max_mb: int, now: datetime | None = None
) -> tuple[list[StoredEnvironment], list[StoredEnvironment]]:
    """Remove those unused for ``max_age_days``, then the least recently used while all take
    more than ``max_mb`` (0: no bound). Never one in use. Returns (removed, kept in use)."""
    now = now or timezone.now()
    environments = stored_environments()
    total = sum(env.size for env in environments)
    removed, in_use = [], []
    for env in environments:
        too_old = now - env.last_used > timedelta(days=max_age_days)
        too_big = max_mb > 0 and total > max_mb * 1024 * 1024
        if not (too_old or too_big):
            continue
        with key_lock_if_free(env.path.parent, env.key) as free:
            if not free:
                in_use.append(env)
                continue
            discard(env.path)
        removed.append(env)
        total -= env.size
    return removed, in_use


def _size_of(path: Path) -> int:
    size = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            file = Path(folder) / name
            if not file.is_symlink():
                size += file.stat().st_size
    return size
