"""Workflows the engine tests run (loaded through BATON_WORKFLOWS_DIR by real workers too)."""

import os
import time
from datetime import timedelta

from workflows import Secret, context, shell, task, workflow

FAST_RETRY = timedelta(milliseconds=100)


def nap(seconds: float) -> None:
    """Sleep in small steps, so a thread interrupt lands within 50 ms."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)


@task
def produce(n: int) -> dict:
    return {"n": n, "items": list(range(n))}


@task
def consume(data: dict) -> int:
    return sum(data["items"])


@workflow
def data_edge(n: int = 4):
    consume(produce(n))


@task(retries=2, retry_delay=FAST_RETRY)
def flaky() -> str:
    print(f"attempt {context.attempt} starts")
    if context.attempt < 3:
        raise ConnectionError(f"failure number {context.attempt}")
    return "third time lucky"


@workflow
def third_time_lucky():
    flaky()


@task(timeout=timedelta(seconds=0.5))
def too_slow() -> None:
    print("working slowly")
    nap(30)


@workflow
def python_timeout():
    too_slow()


@workflow
def shell_timeout():
    shell("sleep", ["sleep", "60"], timeout=timedelta(seconds=0.5))


@workflow
def long_shell():
    shell("sleep", ["sleep", "60"])


@task
def sleeper(seconds: float) -> float:
    print(f"sleeping {seconds} s")
    nap(seconds)
    return seconds


@workflow
def long_python(seconds: float = 60.0):
    sleeper(seconds)


@workflow(max_active_runs=1)
def one_at_a_time(seconds: float = 0.3):
    sleeper(seconds)


@task
def chatty(label: str, lines: int) -> int:
    for number in range(lines):
        print(f"{label} print {number}")
        context.logger.info("%s log %d", label, number)
        time.sleep(0.01)
    return lines


@workflow
def two_at_once(lines: int = 30):
    chatty.with_options(name="left")("left", lines)
    chatty.with_options(name="right")("right", lines)


@task
def returns_a_set() -> set:
    return {1, 2}


@workflow
def not_json():
    returns_a_set()


@task
def ok() -> str:
    return "ok"


@task
def boom() -> None:
    raise ValueError("boom")


@workflow
def rules():
    fine = ok()
    broken = boom()
    blocked = ok.with_options(name="blocked")()
    broken >> blocked >> ok.with_options(name="blocked_too")()
    [fine, broken] >> ok.with_options(name="cleanup", trigger_rule="all_done")()
    [fine, broken] >> ok.with_options(name="alert", trigger_rule="one_failed")()
    quiet = ok.with_options(name="quiet_alert", trigger_rule="one_failed")()
    fine >> quiet
    quiet >> ok.with_options(name="after_skip_none_failed", trigger_rule="none_failed")()
    quiet >> ok.with_options(name="after_skip_all_success")()


@workflow
def shell_env(word: str = "hello world", count: int = 2, tags: list[str] = ["a", "b"]):  # noqa: B006
    script = 'echo "argv1=$1"; echo "word=$BATON_PARAM_WORD"; echo "count=$BATON_PARAM_COUNT"; '
    script += 'echo "tags=$BATON_PARAM_TAGS"; echo "token=$TOKEN"; echo "last line"'
    shell(
        "show",
        ["sh", "-c", script, "sh", word],
        env={"TOKEN": Secret("BATON_TEST_TOKEN")},
    )


@workflow
def shell_fails():
    shell("fail", ["sh", "-c", "echo about to fail; echo really; exit 3"])


@task
def leaky(token: str) -> str:
    print(f"the token is {token}")
    context.logger.warning("still %s", token)
    return "done"


@workflow
def python_secret():
    leaky(Secret("BATON_TEST_TOKEN"))


@task
def noop() -> None:
    return None


@workflow
def single():
    noop()


@task
def fragile() -> str:
    if os.environ.get("BATON_TEST_FIXED") != "1":
        raise RuntimeError("not fixed yet")
    return "fixed"


@workflow
def fixable():
    fragile() >> ok.with_options(name="after_fix")()


@workflow
def slow_then_fast(seconds: float = 30.0):
    sleeper(seconds) >> noop()


@workflow
def fan_out_in():
    middle = [noop() for _ in range(20)]
    noop() >> middle >> ok.with_options(name="join")()
    noop() >> [noop() for _ in range(10)]  # leaves ending the run, each without the run lock
