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
