"""The `trigger` and `runworker` commands."""

import io
import os
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.testing import make_user
from audit.models import AuditEvent
from runs.management.commands.trigger import Command as TriggerCommand
from runs.models import WorkflowRun
from runs.testing import stub_broker, use_workflows

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"


@pytest.fixture
def loaded(transactional_db, settings):
    settings.BROKER_URL = ""  # the command runs the run in-process, on a stub broker
    with use_workflows(WORKFLOWS), stub_broker():
        yield


@pytest.fixture
def synced(db, settings):
    """For runs that are only started (no --wait): nothing needs to commit."""
    settings.BROKER_URL = ""
    with use_workflows(WORKFLOWS), stub_broker():
        yield


def trigger(*args) -> str:
    out = io.StringIO()
    call_command("trigger", *args, stdout=out)
    return out.getvalue()


def test_trigger_prints_field_errors_and_exits_2(synced):
    with pytest.raises(CommandError) as caught:
        trigger("data_edge", "--param", "n=lots", "-p", "extra=1")
    assert caught.value.returncode == 2
    assert str(caught.value) == (
        "invalid parameters:\n"
        "  n: Enter a whole number.\n"
        "  extra: Unknown parameter: this workflow has no parameter named 'extra'."
    )
    assert not WorkflowRun.objects.exists()


def test_trigger_names_the_known_workflows_when_the_slug_is_wrong(synced):
    with pytest.raises(CommandError, match="No workflow named 'nope'. Known workflows: ") as caught:
        trigger("nope")
    assert caught.value.returncode == 2


def test_trigger_wait_runs_the_workflow_and_prints_each_task(loaded):
    output = trigger("data_edge", "--param", "n=3", "--wait")
    lines = output.splitlines()
    assert lines[0].startswith("Started run #1 of data_edge")
    assert lines[1].startswith("  produce: success in ")
    assert lines[2].startswith("  consume: success in ")
    assert lines[3].startswith("Run #1 success in ")
    assert WorkflowRun.objects.get().task_runs.get(task_name="consume").result == 3


def test_trigger_wait_exits_1_when_the_run_fails(loaded):
    out = io.StringIO()
    with pytest.raises(CommandError, match="Run #1 of fixable failed.") as caught:
        call_command("trigger", "fixable", "--wait", stdout=out)
    assert caught.value.returncode == 1
    assert "  fragile: failed in " in out.getvalue()
    assert "RuntimeError: not fixed yet" in out.getvalue()
    assert "  after_fix: upstream_failed" in out.getvalue()


def test_trigger_wait_prints_a_failed_shell_steps_last_lines_and_a_bare_error(loaded, capsys):
    with pytest.raises(SystemExit) as exited:
        TriggerCommand().run_from_argv(
            ["manage.py", "trigger", "shell_fails", "--wait", "--skip-checks"]
        )
    assert exited.value.code == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert re.fullmatch(
        r"  fail: failed in [\d.]+ s: Exited with code 3\. Last lines of the log:", lines[1]
    )
    assert lines[2:4] == ["    about to fail", "    really"]
    assert captured.err == "Run #1 of shell_fails failed.\n"  # no "CommandError: " before it


def test_a_run_from_the_command_line_says_so_in_the_run_and_the_audit_trail(synced):
    trigger("single")
    run = WorkflowRun.objects.get()
    assert (run.trigger, run.started_by) == ("command_line", None)
    event = AuditEvent.objects.get(verb="run.triggered")
    assert event.details["trigger"] == "command_line"
    assert event.actor is None


def test_trigger_as_credits_the_run_to_that_user(synced):
    alice = make_user("alice")
    trigger("single", "--as", "alice")
    run = WorkflowRun.objects.get()
    assert (run.trigger, run.started_by) == ("command_line", alice)
    event = AuditEvent.objects.get(verb="run.triggered")
    assert (event.actor, event.actor_label, event.details["trigger"]) == (
        alice,
        "alice",
        "command_line",
    )


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("nobody", "--as: no user named 'nobody'. Give the user name someone logs in with."),
        ("gone", "--as: user 'gone' is deactivated; a run cannot be credited to them."),
    ],
)
def test_trigger_as_refuses_an_unknown_or_deactivated_user(synced, username, message):
    make_user("gone", is_active=False)
    with pytest.raises(CommandError) as caught:
        trigger("single", "--as", username)
    assert (str(caught.value), caught.value.returncode) == (message, 2)
    assert not WorkflowRun.objects.exists()
    assert not AuditEvent.objects.filter(verb="run.triggered").exists()


def test_trigger_collects_a_repeated_parameter_into_a_list(synced):
    trigger("shell_env", "-p", "tags=x", "-p", "tags=y", "-p", "word=hi")
    assert WorkflowRun.objects.get().parameters == {"word": "hi", "count": 2, "tags": ["x", "y"]}


def test_runworker_needs_a_broker_url(settings):
    settings.BROKER_URL = ""
    with pytest.raises(CommandError, match="runworker needs a broker shared with the web server"):
        call_command("runworker")


def test_runworker_starts_dramatiq_with_baton_actors_and_options(settings, monkeypatch):
    settings.BROKER_URL = "redis://127.0.0.1:6379/0"
    started = {}
    monkeypatch.setattr(os, "execvp", lambda path, args: started.update(args=args))
    monkeypatch.delenv("dramatiq_worker_timeout", raising=False)
    call_command(
        "runworker", "-p", "2", "-t", "3", "--queues", "default", "reports", stdout=io.StringIO()
    )
    args = " ".join(started["args"])
    assert "--processes 2 --threads 3" in args
    assert f"--path {settings.BASE_DIR}" in args
    assert "runs.actors" in args
    assert args.endswith("--queues default reports")
    poll_ms = os.environ["dramatiq_worker_timeout"]  # noqa: SIM112 - Dramatiq's spelling
    assert poll_ms == str(settings.BATON_WORKER_POLL_MS)
