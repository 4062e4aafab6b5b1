"""Workflows the database fault tests run: each task body notes its start and end in a file."""

import time
from datetime import timedelta
from pathlib import Path

from workflows import task, workflow


def note(marks: str, line: str) -> None:
    with Path(marks).open("a") as handle:
        handle.write(line + "\n")


@task(retries=1, retry_delay=timedelta(milliseconds=100))
def mark(marks: str, name: str, seconds: float) -> str:
    """One retry allowed: a body run twice shows in the file, not only as a failure."""
    note(marks, f"start {name}")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
    note(marks, f"done {name}")
    return name


@workflow
def four_marks(marks: str, seconds: float = 1.5):
    for n in range(4):
        mark.with_options(name=f"mark_{n}")(marks, f"mark_{n}", seconds)
