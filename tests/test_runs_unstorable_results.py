"""Text PostgreSQL cannot store, coming out of a task: the task fails clearly, the finish holds.

A NUL or a lone surrogate in a result (or in an error message) used to crash the
recording of the finish on PostgreSQL, leaving the task running for the recovery
sweep. Runs on SQLite too, where the same messages are expected.
"""

import pytest
from django.core.management import CommandError, call_command

from runs.execution.outcome import Outcome, result_outcome
from runs.models import WorkflowRun
from runs.services import trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
from workflows.models import Workflow

WORKFLOWS = """
from workflows import shell, task, workflow


@task
def rows_with_nul() -> dict:
    return {"rows": [{"name": "a\\x00b"}]}


@task
def undecodable() -> str:
    return b"caf\\xe9".decode("utf-8", "surrogateescape")


@task
def fails_with_nul() -> None:
    raise ValueError("bad byte \\x00 here")


@workflow
def returns_nul():
    rows_with_nul()


@workflow
def returns_surrogate():
    undecodable()


@workflow
def raises_nul():
    fails_with_nul()


@workflow
def shell_prints_nul():
    shell("nul", ["printf", "first line\\\\nlast\\\\000line\\\\n"])
"""


@pytest.fixture
def engine(transactional_db, tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "unstorable.py").write_text(WORKFLOWS)
    with use_workflows(folder), in_process_worker(threads=2):
        yield


def run_of(slug: str) -> WorkflowRun:
    run = trigger_run(workflow=Workflow.objects.get(slug=slug), parameters={})
    return wait_for_run(run)


@pytest.mark.parametrize(
    ("slug", "error"),
    [
        (
            "returns_nul",
            "The task returned text the database cannot store: a NUL character (\\u0000) in "
            "result['rows'][0]['name']. Return valid text: remove it, e.g. "
            "text.replace('\\x00', '').",
        ),
        (
            "returns_surrogate",
            "The task returned text the database cannot store: a lone surrogate (\\udce9), "
            "which is not a Unicode character in result. Return valid text: decode bytes "
            "with errors='replace' rather than 'surrogateescape'.",
        ),
    ],
)
def test_a_result_with_text_the_database_cannot_store_fails_the_task(engine, slug, error):
    run = run_of(slug)

    (task,) = run.task_runs.all()
    assert (run.state, task.state, task.attempt) == ("failed", "failed", 1)
    assert task.error == error
    assert task.result is None


def test_a_shell_step_s_output_keeps_a_nul_as_an_escape(engine):
    run = run_of("shell_prints_nul")

    (task,) = run.task_runs.all()
    assert (run.state, task.state, task.result) == ("success", "success", "last\\u0000line")
    assert "last\\u0000line" in task.log_chunks.get().text


def test_an_error_message_with_a_nul_is_kept_escaped(engine):
    run = run_of("raises_nul")

    (task,) = run.task_runs.all()
    assert (run.state, task.state) == ("failed", "failed")
    assert task.error == "ValueError: bad byte \\u0000 here"
    assert "\x00" not in task.traceback


def test_a_storable_result_is_untouched():
    outcome = result_outcome({"name": "café", "n": 2**60})

    assert (outcome.state, outcome.result, outcome.error) == (
        "success",
        {"name": "café", "n": 2**60},
        "",
    )
    assert Outcome.failed("plain words").error == "plain words"


def test_a_note_the_database_cannot_store_is_refused_by_the_trigger_command(db):
    with pytest.raises(CommandError) as refused:
        call_command(
            "trigger", "sales_report", "--note", b"caf\xe9".decode("utf-8", "surrogateescape")
        )

    assert str(refused.value) == (
        "--note: Text may not contain lone surrogates (\\ud800 to \\udfff): "
        "they are not Unicode characters."
    )
    assert not WorkflowRun.objects.exists()
