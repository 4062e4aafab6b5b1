"""A database that is busy or unreachable answers 503 "try again", never a 500 traceback.

``OperationalError`` is what a request meets when PostgreSQL restarts under it, or
when SQLite's busy timeout runs out: a passing condition, not a bug in the page.
Django turns an exception into a 500 response at the layer that raised it (a view,
or a middleware loading the session), so the error is noted on the request when
Django reports it (``got_request_exception``), and the outermost middleware swaps
that 500 (or DEBUG's traceback page) for the 503 page. The API answers the same
in its own error shape (config/api.py).
"""

import logging
import sys

from django.core.signals import got_request_exception
from django.db import OperationalError
from django.dispatch import receiver
from django.shortcuts import render

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
MESSAGE = (
    "The database is busy or unreachable right now, and nothing was done: "
    "try again in a few seconds."
)


@receiver(got_request_exception, dispatch_uid="baton_database_unavailable")
def _note_database_error(sender, request=None, **kwargs):
    error = sys.exc_info()[1]  # sent from inside Django's `except` block
    if request is not None and isinstance(error, OperationalError):
        request.database_error = error


class DatabaseUnavailableMiddleware:
    """First in MIDDLEWARE: sees every response, whichever layer failed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        error = getattr(request, "database_error", None)
        if error is None:
            return response
        logger.warning("Database unavailable on %s %s: %s", request.method, request.path, error)
        page = render(request, "503.html", status=503)
        page["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return page
