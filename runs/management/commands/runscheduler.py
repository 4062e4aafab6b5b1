import signal
import threading

from django.core.management.base import BaseCommand

from runs.notifications.outbox import start_sender, stop_sender
from runs.scheduler import Scheduler


class Command(BaseCommand):
    help = (
        "Start scheduled runs and repair lost work (retries due, lost messages, dead workers). "
        "Run several for high availability: one leads, the others wait."
    )

    # Django's checks import the URLconf, hence the admin, the API and every view (~20 MiB a
    # scheduler would keep for ever); `migrate` and `check --deploy` run them before it starts.
    requires_system_checks = []

    def handle(self, *args, **options):
        stop = threading.Event()

        def request_stop(signum, frame):
            self.stdout.write("Stopping the scheduler…")
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        start_sender()  # notifications leave from schedulers as well as workers
        try:
            Scheduler().run(stop)
        finally:
            stop_sender()
