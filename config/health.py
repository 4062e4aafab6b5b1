"""``/healthz`` (this process answers) and ``/readyz`` (it can serve: database, migrations, broker).

They are answered by the first middleware, before host validation, the HTTPS redirect
and the login: a container's healthcheck asks ``http://127.0.0.1:8000/healthz``, a load
balancer asks a container's own address, and neither carries the public host name or a
session. ``/readyz`` answers 503 with the failed check named, so an orchestrator sends
no traffic to a web process whose database or broker it cannot reach.
"""

import dramatiq
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from redis.exceptions import RedisError

HEALTHZ = "/healthz"
READYZ = "/readyz"
OK = "ok"

# Set once every migration this code knows has been applied: they are not undone under it.
_migrations_applied = False


def database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"unreachable: {str(exc).strip() or type(exc).__name__}"
    return OK


def migrations_check() -> str:
    global _migrations_applied
    if _migrations_applied:
        return OK
    try:
        executor = MigrationExecutor(connection)
        unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return f"unknown (the database did not answer: {str(exc).strip()})"
    if unapplied:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _backwards in unapplied[:5])
        more = f" and {len(unapplied) - 5} more" if len(unapplied) > 5 else ""
        return f"{len(unapplied)} not applied ({names}{more}): run `manage.py migrate`"
    _migrations_applied = True
    return OK


def broker_check() -> str:
    client = getattr(dramatiq.get_broker(), "client", None)  # Redis; the in-process stub has none
    if client is None:
        return OK
    try:
        client.ping()
    except RedisError as exc:
        return f"unreachable: {exc}"
    return OK


def readiness() -> dict[str, str]:
    """Each check's outcome: "ok", or what is wrong."""
    checks = {"database": database_check()}
    if checks["database"] == OK:
        checks["migrations"] = migrations_check()
    else:
        checks["migrations"] = "unknown (the database is unreachable)"
    checks["broker"] = broker_check()
    return checks


def healthz_response() -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz_response() -> JsonResponse:
    checks = readiness()
    # Not logged: a probe asks every few seconds, and the body says it all.
    failed = [name for name, outcome in checks.items() if outcome != OK]
    body = {"status": "not ready" if failed else "ready", "failed": failed, "checks": checks}
    return JsonResponse(body, status=503 if failed else 200)


class HealthEndpointsMiddleware:
    """Answers the two probes first, whatever the Host header, scheme or session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("GET", "HEAD"):
            if request.path_info == HEALTHZ:
                return healthz_response()
            if request.path_info == READYZ:
                return readyz_response()
        return self.get_response(request)
