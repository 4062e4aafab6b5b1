"""``/metrics``, answered by a middleware ahead of host checks, the HTTPS redirect and login.

Prometheus scrapes a web process at its container or service address (``web:8000``),
over the internal network, with a token rather than a session: neither the public
host name of ALLOWED_HOSTS nor HTTPS is to be expected of it, as for ``/healthz``.
"""

from django.http import HttpResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from .access import refusal

METRICS = "/metrics"


def metrics_text() -> bytes:
    """The Prometheus text exposition of every Baton series, read from the database now."""
    from .collector import BatonCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(BatonCollector())
    return generate_latest(registry)


def metrics_response(request) -> HttpResponse:
    refused = refusal(request)
    if refused is not None:
        return refused
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse("/metrics answers GET only.\n", status=405)
        response["Allow"] = "GET, HEAD"
        return response
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_PLAIN_0_0_4)


class MetricsEndpointMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.rstrip("/") != METRICS:
            return self.get_response(request)
        return metrics_response(request)
