"""The request being served, so that actions deep in services record its IP and user agent.

Services take a user, not a request (the scheduler and commands have none);
``AuditRequestMiddleware`` keeps the current request in a context variable,
which is per thread and per asyncio task, for ``record_event`` to read.
"""

from contextvars import ContextVar

_current_request = ContextVar("baton_audit_request", default=None)


def current_request():
    """The HTTP request this thread is serving, or None (scheduler, worker, command)."""
    return _current_request.get()


class AuditRequestMiddleware:
    """Makes the request available to ``record_event`` while its view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)
