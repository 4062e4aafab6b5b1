"""Workflows the scheduler tests start."""

from datetime import timedelta

from workflows import shell, task, workflow


@task
def step(label: str) -> str:
    return label


@workflow(schedule="0 * * * *")
def hourly_report(label: str = "hourly"):
    step(label)


@workflow(schedule="0 * * * *", catchup=True)
def hourly_catchup(label: str = "catchup"):
    step(label)


@task(retries=1, retry_delay=timedelta(seconds=30))
def retried_once() -> str:
    return "ok"


@workflow
def one_retry():
    retried_once()


@workflow(timeout=timedelta(minutes=5))
def bounded():
    shell("wait", ["sleep", "600"])
