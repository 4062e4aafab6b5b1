"""Workflows the metrics test schedules every second: one succeeds, one fails after a retry."""

from datetime import timedelta

from workflows import task, workflow


@task
def measure() -> int:
    return 1


@task(retries=1, retry_delay=timedelta(milliseconds=50))
def give_up() -> None:
    raise RuntimeError("meant to fail, for the failure rate")


@workflow
def metered_success():
    measure()


@workflow
def metered_failure():
    measure() >> give_up()
