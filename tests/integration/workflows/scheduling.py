"""Workflows the scheduler's integration tests run with real processes."""

import time
from datetime import timedelta

from workflows import task, workflow


def nap(seconds: float) -> None:
    """Sleep in small steps, so an interrupt lands quickly."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)


@task
def pause(seconds: float) -> float:
    nap(seconds)
    return seconds


@workflow
def five_at_once(seconds: float = 0.3):
    """Five tasks for one worker thread: most wait in Redis when it is flushed."""
    for n in range(5):
        pause.with_options(name=f"part_{n}")(seconds)


@task(retries=1, retry_delay=timedelta(milliseconds=100))
def survives_a_crash(seconds: float) -> str:
    nap(seconds)
    return "survived"


@workflow
def crash_then_retry(seconds: float = 2.0):
    survives_a_crash(seconds)


@workflow(catchup=True)
def every_second():
    pause(0)
