"""One lock file per environment key: exclusive to build or remove it, shared to use it.

``flock`` locks belong to an open file, so they hold between the threads of one worker
as between worker processes and machines sharing nothing but this folder's disk.
"""

import contextlib
import fcntl
from collections.abc import Callable, Iterator
from pathlib import Path

LOCKS = ".locks"


def lock_path(root: Path, key: str) -> Path:
    return root / LOCKS / f"{key}.lock"


@contextlib.contextmanager
def key_lock(
    root: Path, key: str, *, exclusive: bool, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the key's lock; ``on_wait`` is called once if another holder makes us wait."""
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    with _opened(root, key) as lock:
        try:
            fcntl.flock(lock, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(lock, mode)
        yield


@contextlib.contextmanager
def key_lock_if_free(root: Path, key: str) -> Iterator[bool]:
    """The exclusive lock if nobody holds the key (True), else False at once."""
    with _opened(root, key) as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True


@contextlib.contextmanager
def _opened(root: Path, key: str):
    path = lock_path(root, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as lock:  # closing it releases the lock
        yield lock
