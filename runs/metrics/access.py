"""Who may read /metrics: a scraper with the token, or one in an allowed network.

With neither ``BATON_METRICS_TOKEN`` nor ``BATON_METRICS_ALLOWED_NETWORKS`` set,
/metrics is off (404), so an installation does not publish its workflow names by
default. Otherwise a request with neither the token (``Authorization: Bearer …``)
nor an address in an allowed network gets 403, and the body says what is missing.
"""

import hmac

from django.conf import settings
from django.http import HttpResponse

from config.networks import Network, address_in, parse_networks

OFF = (
    "Metrics are turned off. Set BATON_METRICS_TOKEN (scrapers then send "
    "'Authorization: Bearer <token>') or BATON_METRICS_ALLOWED_NETWORKS "
    "(e.g. 10.0.0.0/8) to turn them on.\n"
)

WRONG_TOKEN = "The metrics token sent (Authorization: Bearer …) is not the right one.\n"


def _bearer_token(request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _from_allowed_network(request, networks: list[Network]) -> bool:
    return address_in(request.META.get("REMOTE_ADDR", ""), networks)


def refusal(request) -> HttpResponse | None:
    """None when the request may read the metrics; else the 404/403 to answer."""
    token = settings.BATON_METRICS_TOKEN
    networks = parse_networks(
        settings.BATON_METRICS_ALLOWED_NETWORKS, setting="BATON_METRICS_ALLOWED_NETWORKS"
    )
    if not token and not networks:
        return _plain(OFF, 404)
    sent = _bearer_token(request)
    if token and sent and hmac.compare_digest(sent.encode(), token.encode()):
        return None
    if networks and _from_allowed_network(request, networks):
        return None
    if sent:
        return _plain(WRONG_TOKEN, 403)
    ways = []
    if token:
        ways.append("send 'Authorization: Bearer <BATON_METRICS_TOKEN>'")
    if networks:
        ways.append(
            f"scrape from an allowed network (BATON_METRICS_ALLOWED_NETWORKS); this request "
            f"came from {request.META.get('REMOTE_ADDR', 'an unknown address')}"
        )
    return _plain(f"Reading the metrics needs a credential: {', or '.join(ways)}.\n", 403)


def _plain(text: str, status: int) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
