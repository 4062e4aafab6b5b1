"""Workflows of mapping, branching and groups, run by the engine and integration tests."""

import time
from datetime import timedelta

from workflows import TriggerRule, branch, group, task, workflow


@task
def numbers(count: int) -> list[int]:
    return list(range(1, count + 1))


@task(retries=1, retry_delay=timedelta(milliseconds=50))
def square(n: int, factor: int = 1) -> int:
    if n == -1:
        raise ValueError("minus one is not welcome")
    return n * n * factor


@task
def total(values: list[int]) -> int:
    return sum(values)


@task
def not_a_list(count: int) -> str:
    return "twelve"


@task
def to_numbers(text: str) -> int:
    return int(text)


@workflow
def map_sum(count: int = 5, factor: int = 1):
    """Square 1..count, each in an instance of its own, and add the squares up."""
    total(square.map(numbers(count), factor=factor))


@workflow
def map_over_parameter(values: list[str] = ["1", "-1", "3"]):  # noqa: B006 (a default shown)
    """One instance per line of the parameter; the instance given -1 fails."""
    total(square.map(to_numbers.map(values)))


@workflow
def map_bad_items(count: int = 3):
    """The list comes from a task that returns text."""
    total(square.map(not_a_list(count)))


@branch
def choose(side: str) -> str | None:
    return None if side == "none" else side


@task
def left() -> str:
    return "left ran"


@task
def right() -> str:
    return "right ran"


@task(trigger_rule=TriggerRule.NONE_FAILED)
def join() -> str:
    return "joined"


@task
def after_right() -> str:
    return "after right"


@workflow
def branch_sides(side: str = "left"):
    """The branch follows one side; the other side (and what needs it) is skipped."""
    chosen = choose(side)
    a, b = left(), right()
    chosen >> [a, b]
    b >> after_right()
    [a, b] >> join()


@task
def extract_part(part: str) -> str:
    return f"extracted {part}"


@task
def publish() -> str:
    return "published"


@workflow
def grouped(count: int = 2):
    """Two extracts in a group, published once both are done."""
    with group("extract") as extract:
        extract_part.with_options(name="orders")("orders")
        extract_part.with_options(name="customers")("customers")
    extract >> publish()


@task
def nap(seconds: str) -> float:
    for _ in range(int(float(seconds) * 20)):  # short sleeps: a cancel gets in between
        time.sleep(0.05)
    return float(seconds)


@workflow
def map_naps(seconds: list[str] = ["30", "30"]):  # noqa: B006
    """Instances that sleep, to be cancelled."""
    nap.map(seconds)


@task
def echo(item):
    return item


@workflow
def map_kinds():
    """Items of every JSON kind come back as they went."""
    echo.map([1, "a", [2, 3], {"k": None}, None, 2.5, True, False, "x'y"])


@task(pool="one_at_a_time")
def pooled(n: int) -> int:
    time.sleep(0.05)
    return n


@workflow
def map_in_a_pool():
    """Instances of a pooled step share its pool; the step itself holds no slot."""
    pooled.map([1, 2, 3])
