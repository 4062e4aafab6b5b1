"""``manage.py up``: Baton in one process (web server, scheduler and worker threads)."""

import os
import signal

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.servers.basehttp import WSGIServer, get_internal_wsgi_application, run

from accounts.local_admin import ensure_local_admin
from runs.embedded import EmbeddedScheduler, EmbeddedWorker, Supervisor
from runs.environments.store import EnvironmentDirUnusable, check_env_dir
from workflows.live import start_polling


class Command(BaseCommand):
    help = (
        "Run Baton in one process: migrate, sync workflows, then serve web, scheduler and worker."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--no-migrate", action="store_true", help="Skip migrate.")
        parser.add_argument(
            "--no-scheduler", action="store_true", help="Run no scheduler in this process."
        )
        parser.add_argument(
            "--worker-threads",
            type=int,
            default=settings.BATON_WORKER_THREADS,
            help="Tasks run at once by the worker threads of this process (0: no worker).",
        )

    def handle(self, *args, **options):
        if options["worker_threads"] > 0:
            try:
                check_env_dir()  # isolated tasks build there: say so now, not at the first one
            except EnvironmentDirUnusable as exc:
                raise CommandError(str(exc)) from None
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)  # also syncs workflows
        else:
            try:
                call_command("sync_workflows", verbosity=0)
            except CommandError as exc:  # a broken workflow file must not stop the start
                self.stderr.write(f"Workflows: {exc}")
        if not settings.DEBUG:
            call_command("collectstatic", interactive=False, verbosity=0)
        self._print_login(options)
        services = self._start_background(options)
        self._start_demo_runs()
        # `docker stop`, systemd and friends send SIGTERM: stop as on Ctrl-C, tasks first.
        signal.signal(signal.SIGTERM, _stop_like_ctrl_c)
        try:
            self._serve(options["host"], options["port"])
        finally:
            for service in reversed(services):
                service.stop()  # running tasks get a few seconds to end

    def _start_background(self, options) -> list:
        """Threads running beside the web server; each has ``stop()``."""
        services = []
        start_polling()  # new code reaches the web pages and worker threads without a restart
        threads = options["worker_threads"]
        if threads > 0:
            services.append(EmbeddedWorker(threads=threads).start())
            broker = "Redis" if settings.BROKER_URL else "the in-process broker"
            self.stdout.write(f"Worker: {threads} threads on {broker}.")
        if not options["no_scheduler"]:
            services.append(EmbeddedScheduler().start())
            self.stdout.write("Scheduler: starting scheduled runs and repairing lost work.")
        if services:
            # Stopped first (services stop in reverse order), so it restarts nothing on the way out.
            services.append(Supervisor(services).start())
        return services

    def _start_demo_runs(self):
        if not apps.is_installed("examples"):
            return
        from examples.demo import start_demo_runs

        admin = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
        started = start_demo_runs(user=admin)
        if started:
            self.stdout.write(f"Started {len(started)} demo runs: see them under Runs.")

    def _print_login(self, options):
        login = ensure_local_admin()
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"Baton is up at {url}"))
        if login.password:
            self.stdout.write(
                f"Log in as '{login.username}' with password '{login.password}' "
                f"(kept in {login.password_file})"
            )
        else:
            self.stdout.write("Log in with your existing superuser account.")

    def _serve(self, host, port):
        handler = get_internal_wsgi_application()
        if settings.DEBUG:
            handler = StaticFilesHandler(handler)
        try:
            run(host, port, handler, ipv6=":" in host, threading=True, server_cls=WSGIServer)
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")


def _stop_like_ctrl_c(signum, frame):
    raise KeyboardInterrupt
