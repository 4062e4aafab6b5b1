"""Loading workflow files: nothing a file does at import stops or hangs the loader."""

import logging
import sys
import textwrap
import threading
import time

from workflows.registry import discover

GOOD = """
import logging

from workflows import shell, workflow

logger = logging.getLogger(__name__)

@workflow
def {name}():
    shell("echo", ["echo", "hi"])
"""


def write(folder, filename, source):
    path = folder / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def import_threads():
    return [t for t in threading.enumerate() if t.name.startswith("baton-import:")]


def test_a_file_calling_sys_exit_is_its_own_error_and_the_others_load(workflows_dir):
    write(workflows_dir, "a_good.py", GOOD.format(name="before"))
    exits = write(workflows_dir, "exits.py", "import sys\nsys.exit(3)\n")
    write(workflows_dir, "z_good.py", GOOD.format(name="after"))

    registry = discover()

    assert {"before", "after"} <= set(registry.workflows)
    assert [e.message for e in registry.errors] == [
        f"{exits}:2: the file called sys.exit(3) while being imported"
    ]
    assert str(exits) in registry.failed_files
    assert "baton_workflows.exits" not in sys.modules


def test_a_keyboard_interrupt_at_import_is_that_files_error(workflows_dir):
    write(workflows_dir, "good.py", GOOD.format(name="still_loaded"))
    stops = write(workflows_dir, "stops.py", "x = 1\nraise KeyboardInterrupt\n")

    registry = discover()

    assert "still_loaded" in registry.workflows
    assert [e.message for e in registry.errors] == [f"{stops}:2: KeyboardInterrupt"]


def test_a_file_looping_forever_is_stopped_at_the_time_limit(workflows_dir, settings):
    settings.BATON_WORKFLOW_IMPORT_TIMEOUT = 0.5
    write(workflows_dir, "a_good.py", GOOD.format(name="before"))
    # `except Exception` inside the loop does not swallow the stop.
    loops = write(
        workflows_dir,
        "loops.py",
        """
        n = 0
        while True:
            try:
                n += 1
            except Exception:
                pass
        """,
    )
    write(workflows_dir, "z_good.py", GOOD.format(name="after"))

    started = time.monotonic()
    registry = discover()

    assert time.monotonic() - started < 5
    assert {"before", "after"} <= set(registry.workflows)
    (error,) = registry.errors
    assert error.file == str(loops)
    assert error.message.startswith(f"{loops}:")
    assert int(error.message.split(":")[1]) in range(3, 8)  # a line of the loop
    assert error.message.endswith(
        ": took longer than 0.5 s to import and was stopped; its workflows are not loaded "
        "(the limit is BATON_WORKFLOW_IMPORT_TIMEOUT)"
    )
    assert str(loops) in registry.failed_files
    assert import_threads() == []  # the loop really stopped
    assert "baton_workflows.loops" not in sys.modules


def test_a_slow_file_within_the_limit_loads(workflows_dir, settings):
    settings.BATON_WORKFLOW_IMPORT_TIMEOUT = 5
    write(workflows_dir, "slow.py", "import time\ntime.sleep(0.3)\n" + GOOD.format(name="slow"))

    registry = discover()

    assert "slow" in registry.workflows
    assert registry.errors == []


def test_folder_files_get_readable_module_names(workflows_dir):
    write(workflows_dir, "nightly_export.py", GOOD.format(name="nightly_export"))
    write(workflows_dir, "billing/monthly.py", GOOD.format(name="monthly"))

    registry = discover()

    nightly = sys.modules[registry.get("nightly_export").fn.__module__]
    assert nightly.__name__ == "baton_workflows.nightly_export"
    assert registry.get("monthly").fn.__module__ == "baton_workflows.billing.monthly"


def test_module_names_do_not_clash(workflows_dir):
    write(workflows_dir, "sales-report.py", GOOD.format(name="dashed"))
    write(workflows_dir, "sales_report.py", GOOD.format(name="underscored"))
    write(workflows_dir, "2024.py", GOOD.format(name="digits"))
    write(workflows_dir, "class.py", GOOD.format(name="keyword"))

    registry = discover()

    modules = {slug: registry.get(slug).fn.__module__ for slug in registry.workflows}
    assert {slug: modules[slug] for slug in ("dashed", "underscored", "digits", "keyword")} == {
        "dashed": "baton_workflows.sales_report",
        "underscored": "baton_workflows.sales_report_2",
        "digits": "baton_workflows._2024",
        "keyword": "baton_workflows.class_",
    }


def test_a_folder_file_may_import_a_private_helper_beside_it(workflows_dir):
    write(workflows_dir, "billing/_helpers.py", "GREETING = 'hello'\n")
    write(
        workflows_dir,
        "billing/greet.py",
        """
        from workflows import shell, workflow

        from ._helpers import GREETING

        @workflow
        def greet():
            shell("echo", ["echo", GREETING])
        """,
    )

    registry = discover()

    assert registry.errors == []
    assert registry.get("greet").tasks["echo"].argv == ["echo", "hello"]


def test_a_task_logger_shows_the_readable_module_name(workflows_dir, caplog):
    write(workflows_dir, "nightly_export.py", GOOD.format(name="nightly_export"))
    module = sys.modules[discover().get("nightly_export").fn.__module__]

    with caplog.at_level(logging.INFO):
        module.logger.info("exported")

    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("baton_workflows.nightly_export", "exported")
    ]
