"""``manage.py runworker``: Dramatiq worker processes executing Baton's task runs."""

import importlib
import logging
import os
import signal
import time

import dramatiq
from django.conf import settings
from django.core.management.base import CommandError
from django_dramatiq.management.commands.rundramatiq import Command as RunDramatiqCommand
from dramatiq.errors import BrokerConnectionError

from runs.environments.store import EnvironmentDirUnusable, check_env_dir

logger = logging.getLogger(__name__)

# The line the dramatiq CLI's worker processes log once they consume (deployments watch for it).
READY = "Worker process is ready for action."
# Options only the dramatiq CLI implements: with any of them, it runs the worker processes.
_CLI_ONLY = ("watch_dir", "use_gevent", "use_spawn", "pid_file", "log_file", "forks")


class Command(RunDramatiqCommand):
    help = (
        "Run Baton workers: --processes × --threads task runs at once, taken from the broker "
        "(BROKER_URL). By default they consume every queue the loaded workflows name; "
        "--queues limits them to some. Start as many as you like, on any machine."
    )

    # Django's checks import the URLconf, hence the admin, the API and every view (~17 MiB a
    # worker would keep for ever); `migrate` and `check --deploy` run them before it starts.
    requires_system_checks = []

    def add_arguments(self, parser):
        super().add_arguments(parser)
        # rundramatiq's default is the current folder; Baton's code is where manage.py is.
        parser.set_defaults(path=[str(settings.BASE_DIR)])
        parser.add_argument(
            "--poll-ms",
            type=int,
            default=settings.BATON_WORKER_POLL_MS,
            help="Longest pause (ms) of an idle worker between two looks at the broker.",
        )

    def handle(self, *args, poll_ms, **options):
        if not settings.BROKER_URL:
            raise CommandError(
                "runworker needs a broker shared with the web server: set "
                "BROKER_URL=redis://host:6379/0. Without one, `manage.py up` runs worker "
                "threads inside the web process."
            )
        if poll_ms < 1:
            raise CommandError(f"--poll-ms must be at least 1, not {poll_ms}.")
        try:
            check_env_dir()  # isolated tasks build there: say so now, not at the first one
        except EnvironmentDirUnusable as exc:
            raise CommandError(str(exc)) from None
        if options["processes"] == 1 and not any(options[name] for name in _CLI_ONLY):
            # One process: the worker runs here. The dramatiq CLI would add a supervising
            # process (~26 MiB resident) that only forwards signals and logs to this one.
            self._work_in_this_process(poll_ms, options)
            return
        # Read by dramatiq.worker when the worker processes import it (its spelling).
        os.environ["dramatiq_worker_timeout"] = str(poll_ms)  # noqa: SIM112
        super().handle(*args, **options)

    def _work_in_this_process(self, poll_ms: int, options: dict) -> None:
        """What a dramatiq CLI worker process does: boot, consume, stop on SIGTERM or SIGINT."""
        signals = _StopSignals()
        broker = dramatiq.get_broker()
        broker.emit_after("process_boot")
        for module in self.discover_tasks_modules():
            importlib.import_module(module)
        worker = dramatiq.Worker(
            broker,
            queues=options["queues"] or None,
            worker_threads=options["threads"],
            worker_timeout=poll_ms,
        )
        try:
            worker.start()
        except BrokerConnectionError as exc:
            raise CommandError(f"The broker at BROKER_URL is unreachable: {exc}") from None
        logger.info(READY)
        while not signals.received:
            time.sleep(0.2)
        logger.info("Stopping worker process...")
        worker.stop(timeout=options["worker_shutdown_timeout"])
        broker.close()


class _StopSignals:
    """The first SIGTERM, SIGINT or SIGHUP asks for a graceful stop; a second one kills at once.

    SIGHUP: the dramatiq CLI restarts its worker processes on it; here the process stops
    cleanly and whatever supervises it (Docker's restart policy, systemd) starts it again.
    """

    def __init__(self):
        self.received = False
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum, frame):
        if self.received:
            logger.warning("Killing worker process...")
            os._exit(1)  # the dramatiq CLI's exit code for a killed worker
        self.received = True
