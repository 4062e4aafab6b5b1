"""Workflows whose tasks log and print through every path a task's code may use."""

import logging
import sys

from workflows import Secret, task, workflow

module_logger = logging.getLogger(__name__)
named_logger = logging.getLogger("x")

# A module that configures its own handler, as some libraries do: it does not propagate.
own_logger = logging.getLogger("baton_test.own_handler")
if not own_logger.handlers:  # tests import this file again and again
    own_logger.addHandler(logging.StreamHandler(sys.stderr))
own_logger.propagate = False


@task
def speaks(token: str) -> str:
    named_logger.warning("named logger says %s", token)
    module_logger.info("module logger says %s", token)
    own_logger.warning("own handler says %s", token)
    print(f"print says {token}")
    print(f"stderr says {token}", file=sys.stderr)
    try:
        raise ValueError(f"broken with {token}")
    except ValueError:
        named_logger.exception("caught an error")
    return "spoke"


@workflow
def loud_secret():
    speaks(Secret("BATON_TEST_TOKEN"))


@task
def logs_once() -> None:
    module_logger.info("one line from the module logger")


@workflow
def log_once():
    logs_once()
