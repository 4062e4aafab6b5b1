"""``manage.py trigger <slug> [--param name=value …] [--as USERNAME] [--wait]``: start a run."""

import logging
import sys
import textwrap
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from runs.embedded import EmbeddedWorker
from runs.models import TaskRun, WorkflowRun
from runs.services import WorkflowNotRunnable, trigger_run
from runs.states import FINISHED_RUN_STATES, RunState, TaskState
from workflows.errors import ParameterErrors
from workflows.models import Workflow
from workflows.parameter_limits import find_bad_text

POLL_SECONDS = 0.2


class Command(BaseCommand):
    help = (
        "Start a run of a workflow, as its Run button does. Give parameters as "
        "--param name=value (repeat a name for a list). --as USERNAME credits the run to that "
        "user. --wait follows the run, prints each task's end and exits 0 on success, "
        "1 otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The workflow's name, e.g. sales_report.")
        parser.add_argument(
            "--param", "-p", action="append", default=[], metavar="NAME=VALUE", dest="params"
        )
        parser.add_argument("--wait", action="store_true", help="Follow the run to its end.")
        parser.add_argument("--note", default="", help="A note kept with the run.")
        parser.add_argument(
            "--as",
            dest="username",
            metavar="USERNAME",
            help="Credit the run to this user (the runs list and the audit trail show them).",
        )

    def execute(self, *args, **options):
        if not self._called_from_command_line or options.get("traceback"):
            return super().execute(*args, **options)
        try:
            return super().execute(*args, **options)
        except CommandError as exc:
            # Django would print "CommandError: …" before the message; people read the message.
            self.stderr.write(str(exc))
            sys.exit(exc.returncode)

    def handle(self, *args, slug, params, wait, note, username, **options):
        workflow = _workflow(slug)
        parameters = _parse_params(params)
        bad = find_bad_text(note)  # an argument of undecodable bytes reads as lone surrogates
        if bad:
            raise CommandError(f"--note: {bad.message}", returncode=2)
        user = _user(username) if username is not None else None
        embedded = None
        if wait and not settings.BROKER_URL:
            # No shared broker: the messages live in this process, so it runs them itself.
            logging.getLogger("dramatiq").setLevel(logging.WARNING)
            embedded = EmbeddedWorker(threads=settings.BATON_WORKER_THREADS).start()
        try:
            run = self._start(workflow, parameters, note, user)
            if wait:
                run = self._follow(run)
        finally:
            if embedded is not None:
                embedded.stop()
        if not wait and not settings.BROKER_URL:
            self.stdout.write(
                "No BROKER_URL: the run waits in the database until `manage.py up` picks it "
                "up. Use --wait to run it here and now."
            )
        if wait and run.state != RunState.SUCCESS:
            raise CommandError(f"Run #{run.number} of {slug} {run.state}.", returncode=1)

    def _start(self, workflow, parameters, note, user) -> WorkflowRun:
        try:
            run = trigger_run(
                workflow=workflow,
                parameters=parameters,
                note=note,
                started_by=user,
                trigger=WorkflowRun.Trigger.COMMAND_LINE,
            )
        except WorkflowNotRunnable as exc:
            raise CommandError(str(exc), returncode=2) from None
        except ParameterErrors as exc:
            lines = [
                f"  {name}: {' '.join(map(str, messages))}" for name, messages in exc.errors.items()
            ]
            raise CommandError("invalid parameters:\n" + "\n".join(lines), returncode=2) from None
        waiting = " (waiting for a free slot)" if run.state == RunState.QUEUED else ""
        self.stdout.write(f"Started run #{run.number} of {workflow.slug} (id {run.pk}){waiting}.")
        return run

    def _follow(self, run: WorkflowRun) -> WorkflowRun:
        reported = set()
        while True:
            run.refresh_from_db()
            ended = run.task_runs.exclude(
                state__in=(TaskState.PENDING, TaskState.QUEUED, TaskState.RUNNING)
            )
            for task in ended.order_by("finished_at", "position"):
                key = (task.task_name, task.attempt, task.state)
                if key not in reported:
                    reported.add(key)
                    self.stdout.write(_describe(task))
            if run.state in FINISHED_RUN_STATES:
                break
            time.sleep(POLL_SECONDS)
        seconds = (run.finished_at - (run.started_at or run.created_at)).total_seconds()
        self.stdout.write(f"Run #{run.number} {run.state} in {seconds:.2f} s.")
        return run


def _workflow(slug: str) -> Workflow:
    workflow = Workflow.objects.filter(slug=slug).first()
    if workflow is None:
        known = ", ".join(Workflow.objects.filter(is_active=True).values_list("slug", flat=True))
        raise CommandError(
            f"No workflow named '{slug}'. Known workflows: {known or 'none'}.", returncode=2
        )
    return workflow


def _user(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(
            f"--as: no user named '{username}'. Give the user name someone logs in with.",
            returncode=2,
        )
    if not user.is_active:
        raise CommandError(
            f"--as: user '{username}' is deactivated; a run cannot be credited to them.",
            returncode=2,
        )
    return user


def _parse_params(items: list[str]) -> dict:
    values: dict = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"--param needs NAME=VALUE, not '{item}'.", returncode=2)
        name = name.strip()
        if name in values:  # a repeated name gives a list
            previous = values[name]
            values[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            values[name] = value
    return values


def _describe(task: TaskRun) -> str:
    seconds = ""
    if task.started_at and task.finished_at:
        seconds = f" in {(task.finished_at - task.started_at).total_seconds():.2f} s"
    error_lines = task.error.strip().splitlines()
    first_error_line = error_lines[0] if error_lines else ""
    if task.state == TaskState.UP_FOR_RETRY:
        return f"  {task.task_name}: attempt {task.attempt} failed ({first_error_line}), will retry"
    line = f"  {task.task_name}: {task.state}{seconds}"
    if task.state == TaskState.FAILED and error_lines:
        # The rest of the error is the end of a shell step's log: what it printed last.
        line += f": {first_error_line}"
        rest = "\n".join(error_lines[1:])
        if rest:
            line += "\n" + textwrap.indent(rest, "    ")
    return line
