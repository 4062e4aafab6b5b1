"""A database or Redis that is busy or unreachable answers 503 "try again", never a 500.

``OperationalError`` is what a request meets when PostgreSQL restarts under it, or
when SQLite's busy timeout runs out; a Redis connection or timeout error is what it
meets when the shared cache (login-failure counts, rate limits) or the broker is
down: passing conditions, not bugs in the page. Django turns an exception into a
500 response at the layer that raised it (a view, or a middleware loading the
session), so the error is noted on the request when Django reports it
(``got_request_exception``), and the outermost middleware swaps that 500 (or
DEBUG's traceback page) for the 503 page. The API answers the same in its own
error shape (config/api.py).
"""

import logging
import sys

from django.core.signals import got_request_exception
from django.db import OperationalError
from django.dispatch import receiver
from django.shortcuts import render
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
# What a request may meet while a service restarts, and the service to name.
UNAVAILABLE = (OperationalError, RedisConnectionError, RedisTimeoutError)
MESSAGES = {
    "database": (
        "The database is busy or unreachable right now, and nothing was done: "
        "try again in a few seconds."
    ),
    "Redis": "Redis is unreachable right now, and nothing was done: try again in a few seconds.",
}


def service_of(error: Exception) -> str:
    return "database" if isinstance(error, OperationalError) else "Redis"


@receiver(got_request_exception, dispatch_uid="baton_service_unavailable")
def _note_unavailable_service(sender, request=None, **kwargs):
    error = sys.exc_info()[1]  # sent from inside Django's `except` block
    if request is not None and isinstance(error, UNAVAILABLE):
        request.unavailable_service = error


class ServiceUnavailableMiddleware:
    """First in MIDDLEWARE: sees every response, whichever layer failed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        error = getattr(request, "unavailable_service", None)
        if error is None:
            return response
        service = service_of(error)
        logger.warning("%s unavailable on %s %s: %s", service, request.method, request.path, error)
        page = render(request, "503.html", {"service": service}, status=503)
        page["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return page
