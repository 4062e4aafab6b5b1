"""``/metrics``, answered by a middleware ahead of host checks, the HTTPS redirect and login.

Prometheus scrapes a web process at its container or service address (``web:8000``),
over the internal network, with a token rather than a session: neither the public
host name of ALLOWED_HOSTS nor HTTPS is to be expected of it, as for ``/healthz``.
"""

import gzip

from django.conf import settings
from django.http import HttpResponse
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from .access import refusal

METRICS = "/metrics"


def metrics_response(request) -> HttpResponse:
    refused = refusal(request)
    if refused is not None:
        return refused
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse("/metrics answers GET only.\n", status=405)
        response["Allow"] = "GET, HEAD"
        return response
    from .snapshot import latest_gzipped

    packed = latest_gzipped(settings.BATON_METRICS_MAX_AGE)
    if "gzip" in request.headers.get("Accept-Encoding", ""):  # Prometheus asks for it
        response = HttpResponse(packed, content_type=CONTENT_TYPE_PLAIN_0_0_4)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(gzip.decompress(packed), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Vary"] = "Accept-Encoding"
    response["Cache-Control"] = "no-store"
    return response


class MetricsEndpointMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.rstrip("/") != METRICS:
            return self.get_response(request)
        return metrics_response(request)
