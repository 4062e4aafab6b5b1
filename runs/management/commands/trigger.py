"""``manage.py trigger <slug> [--param name=value …] [--wait]``: start a run from a terminal."""

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from runs.embedded import EmbeddedWorker
from runs.models import TaskRun, WorkflowRun
from runs.services import WorkflowNotRunnable, trigger_run
from runs.states import FINISHED_RUN_STATES, RunState, TaskState
from workflows.errors import ParameterErrors
from workflows.models import Workflow

POLL_SECONDS = 0.2


class Command(BaseCommand):
    help = (
        "Start a run of a workflow, as its Run button does. Give parameters as "
        "--param name=value (repeat a name for a list). --wait follows the run, prints each "
        "task's end and exits 0 on success, 1 otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The workflow's name, e.g. sales_report.")
        parser.add_argument(
            "--param", "-p", action="append", default=[], metavar="NAME=VALUE", dest="params"
        )
        parser.add_argument("--wait", action="store_true", help="Follow the run to its end.")
        parser.add_argument("--note", default="", help="A note kept with the run.")

    def handle(self, *args, slug, params, wait, note, **options):
        workflow = _workflow(slug)
        parameters = _parse_params(params)
        embedded = None
        if wait and not settings.BROKER_URL:
            # No shared broker: the messages live in this process, so it runs them itself.
            logging.getLogger("dramatiq").setLevel(logging.WARNING)
            embedded = EmbeddedWorker(threads=settings.BATON_WORKER_THREADS).start()
        try:
            run = self._start(workflow, parameters, note)
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

    def _start(self, workflow, parameters, note) -> WorkflowRun:
        try:
            run = trigger_run(workflow=workflow, parameters=parameters, note=note)
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
    first_error_line = task.error.strip().splitlines()[0] if task.error.strip() else ""
    if task.state == TaskState.UP_FOR_RETRY:
        return f"  {task.task_name}: attempt {task.attempt} failed ({first_error_line}), will retry"
    line = f"  {task.task_name}: {task.state}{seconds}"
    if task.state == TaskState.FAILED and first_error_line:
        line += f": {first_error_line}"
    return line
