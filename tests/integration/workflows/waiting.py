"""Workflows of the pool, wait and approval tests (real workers load them too)."""

import time
from datetime import datetime, timedelta
from pathlib import Path

from workflows import approval, context, task, wait_for, wait_until, workflow

QUICK = timedelta(seconds=1)


@task
def ready_on_third_check(marks: str) -> dict | None:
    """Not ready twice, then ready; each check leaves a line in ``marks``."""
    with Path(marks).open("a") as file:
        file.write(f"check {context.attempt}\n")
    checks = len(Path(marks).read_text().splitlines())
    print(f"check number {checks}")
    return {"ready_after": checks} if checks >= 3 else None


@task
def report(found: dict) -> str:
    return f"ready after {found['ready_after']} checks"


@workflow
def third_check_wait(marks: str):
    report(wait_for(ready_on_third_check(marks), every=QUICK, timeout=timedelta(minutes=5)))


@task
def never_ready() -> bool:
    return False


@workflow
def hopeless_wait():
    wait_for(never_ready(), every=QUICK, timeout=timedelta(seconds=2))


@task
def after_the_moment(moment: str) -> str:
    return f"went on after {moment}"


@workflow
def until_a_moment(when: datetime):
    after_the_moment(wait_until(when))


@task
def pay(amount: int) -> str:
    return f"paid {amount}"


@workflow
def signed_off_payment(amount: int = 100):
    """Pays once Finance signs it off."""
    approval("Finance sign-off", approvers="group:Finance") >> pay(amount)


@workflow
def quick_sign_off():
    approval("Quick sign-off", approvers="group:Finance", timeout=timedelta(seconds=1)) >> pay(1)


@workflow
def unknown_approvers():
    approval("Nobody's sign-off", approvers="group:Nobody") >> pay(2)


@task(pool="warehouse")
def use_the_warehouse(n: int, marks: str) -> int:
    """Holds a warehouse slot for a moment; its start and end go to ``marks``."""
    with Path(marks).open("a") as file:
        file.write(f"start {time.time()}\n")
    time.sleep(0.3)
    with Path(marks).open("a") as file:
        file.write(f"end {time.time()}\n")
    return n


@workflow
def warehouse_a(marks: str):
    for n in range(3):
        use_the_warehouse.with_options(name=f"load_{n}")(n, marks)


@workflow
def warehouse_b(marks: str):
    for n in range(3):
        use_the_warehouse.with_options(name=f"load_{n}")(n, marks)


@task(pool="warehouse", priority=10)
def urgent_load(marks: str) -> str:
    with Path(marks).open("a") as file:
        file.write("urgent\n")
    return "urgent"


@task(pool="warehouse")
def routine_load(n: int, marks: str) -> int:
    with Path(marks).open("a") as file:
        file.write(f"routine {n}\n")
    return n


@workflow
def warehouse_priorities(marks: str):
    for n in range(3):
        routine_load.with_options(name=f"routine_{n}")(n, marks)
    urgent_load(marks)


@task(pool="no_such_pool")
def in_a_missing_pool() -> None:
    return None


@workflow
def missing_pool():
    in_a_missing_pool()
