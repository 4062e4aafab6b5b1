"""``manage.py healthcheck worker|scheduler|web``: a container's healthcheck (exit 0: healthy)."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from config.health import OK, readiness
from runs.presence import ProcessKind, alive_here


class Command(BaseCommand):
    help = (
        "Exit 0 when this host's worker or scheduler process has heartbeat within "
        "BATON_HEARTBEAT_TIMEOUT (web: when the database, migrations and broker are ready), "
        "1 with the reason otherwise. For container healthchecks: a container's hostname "
        "is its own."
    )

    requires_system_checks = []  # every 30 s in each container: answer fast, check nothing else

    def add_arguments(self, parser):
        parser.add_argument("service", choices=["worker", "scheduler", "web"])

    def handle(self, *args, service, **options):
        if service == "web":
            self._check_web()
        else:
            self._check_heartbeat(ProcessKind(service))

    def _check_web(self):
        checks = readiness()
        failed = {name: outcome for name, outcome in checks.items() if outcome != OK}
        if failed:
            raise CommandError("not ready: " + "; ".join(f"{n}: {o}" for n, o in failed.items()))
        self.stdout.write("ready: database, migrations and broker ok")

    def _check_heartbeat(self, kind: ProcessKind):
        now = timezone.now()
        try:
            alive = alive_here(kind, now)
        except DatabaseError as exc:
            # Restarting this process would not bring the database back, and would stop
            # the tasks it carries through the outage: not its fault, so not unhealthy.
            self.stdout.write(f"database unreachable ({str(exc).strip()}); not judging the {kind}")
            return
        if not alive:
            raise CommandError(
                f"no {kind} process on this host has sent a heartbeat in the last "
                f"BATON_HEARTBEAT_TIMEOUT seconds: it is stuck, or not started"
            )
        self.stdout.write(", ".join(_describe(beat, now) for beat in alive))


def _describe(beat, now) -> str:
    age = (now - beat.seen_at).total_seconds()
    text = f"{beat.kind} {beat.hostname}:{beat.pid} heard {max(age, 0):.0f} s ago"
    if beat.kind == ProcessKind.SCHEDULER:
        return text + (" (leader)" if beat.is_leader else " (standby)")
    return text + f" (queues: {', '.join(beat.queues) or 'none'})"
