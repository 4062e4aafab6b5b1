"""``manage.py up``: Baton in one process (web server, scheduler and worker threads)."""

import os

from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.core.servers.basehttp import WSGIServer, get_internal_wsgi_application, run

from accounts.local_admin import ensure_local_admin


class Command(BaseCommand):
    help = (
        "Run Baton in one process: migrate, sync workflows, then serve web, scheduler and worker."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--no-migrate", action="store_true", help="Skip migrate.")

    def handle(self, *args, **options):
        if not options["no_migrate"]:
            call_command("migrate", interactive=False, verbosity=0)  # also syncs workflows
        else:
            call_command("sync_workflows", verbosity=0)
        if not settings.DEBUG:
            call_command("collectstatic", interactive=False, verbosity=0)
        self._print_login(options)
        self._serve(options["host"], options["port"])

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
