"""Workflows the notification tests run (here so that real worker processes load them too)."""

from datetime import timedelta

from workflows import Notify, context, task, workflow


@task
def load_rows(rows: int) -> None:
    for number in range(rows):
        print(f"loaded row {number}")
    raise RuntimeError("the warehouse refused row 7")


@workflow(notify=Notify(on="failure", to="channel:test-hook"))
def nightly_load(rows: int = 30):
    """Fails after writing a log, and tells the channel named test-hook."""
    load_rows(rows)


@task
def quick() -> str:
    return "done"


@workflow
def quick_job():
    quick()


@task(retries=1, retry_delay=timedelta(milliseconds=100))
def shaky() -> str:
    if context.attempt == 1:
        raise ConnectionError("the API hung up")
    return "fine"


@workflow(notify=Notify(on="retry", to="channel:test-hook"))
def shaky_job():
    shaky()
