"""Workflows whose tasks run in isolated environments built from the tests' wheelhouse."""

from datetime import date, timedelta

from workflows import Secret, context, task, workflow

ONE = ["batontestpkg==1.0"]


@task(requirements=ONE)
def version_one():
    import batontestpkg

    return batontestpkg.__version__


@task(requirements="requirements-two.txt")
def version_two():
    import batontestpkg

    return batontestpkg.__version__


@task
def in_worker():
    import importlib.util

    return importlib.util.find_spec("batontestpkg") is not None


@workflow
def two_versions():
    version_one()
    version_two()
    in_worker()


@task(requirements=[*ONE, "six==1.16.0"])
def describe(day: date, token: str):
    import importlib.util
    import os

    import six

    print(f"the token is {token}")
    context.logger.info("run %s, attempt %s, day %s", context.run_id, context.attempt, day)
    return {
        "day": day.isoformat(),
        "six": six.__version__,
        "django_visible": importlib.util.find_spec("django") is not None,
        "pid": os.getpid(),
    }


@task
def after(described: dict):
    return described["day"]


@workflow
def environment_context(day: date = date(2026, 1, 2)):
    after(describe(day, Secret("BATON_TEST_TOKEN")))


@task(requirements=ONE, timeout=timedelta(seconds=2))
def sleeps_past_its_timeout():
    import os
    import time

    print(f"pid {os.getpid()}", flush=True)
    time.sleep(60)


@workflow
def isolated_timeout():
    sleeps_past_its_timeout()


@task(requirements=ONE)
def sleeps():
    import os
    import time

    print(f"pid {os.getpid()}", flush=True)
    time.sleep(60)


@workflow
def isolated_sleep():
    sleeps()


@task(requirements=["batontestpkg==9.9"], retries=2, retry_delay=timedelta(seconds=0))
def wants_a_missing_version():
    return "never"


@workflow
def missing_requirement():
    wants_a_missing_version()


@task(requirements=ONE)
def fails():
    raise ValueError("no luck today")


@task(requirements=ONE)
def returns_a_set():
    return {1, 2}


@workflow
def isolated_failures():
    fails()
    returns_a_set()


@task(python="2.9")
def on_an_old_python():
    return "never"


@workflow
def missing_python():
    on_an_old_python()


@task(requirements=ONE)
def exits_at_once():
    import os

    print("leaving", flush=True)
    os._exit(3)


@workflow
def isolated_exit():
    exits_at_once()
