"""``manage.py runworker``: Dramatiq worker processes executing Baton's task runs."""

import os

from django.conf import settings
from django.core.management.base import CommandError
from django_dramatiq.management.commands.rundramatiq import Command as RunDramatiqCommand

from runs.environments.store import EnvironmentDirUnusable, check_env_dir


class Command(RunDramatiqCommand):
    help = (
        "Run Baton workers: --processes × --threads task runs at once, taken from the broker "
        "(BROKER_URL). By default they consume every queue the loaded workflows name; "
        "--queues limits them to some. Start as many as you like, on any machine."
    )

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
        # Read by dramatiq.worker when the worker processes import it (its spelling).
        os.environ["dramatiq_worker_timeout"] = str(poll_ms)  # noqa: SIM112
        super().handle(*args, **options)
