"""Behind a reverse proxy: believe its X-Forwarded-For/-Proto, and only its.

``BATON_TRUSTED_PROXIES`` lists the proxies' addresses or networks. A request from
one of them has its client address taken from ``X-Forwarded-For`` (the nearest
address that is not itself a trusted proxy), so the audit trail and the login rate
limits see the user, not the proxy; its ``X-Forwarded-Proto`` says whether the user
came over HTTPS (``SECURE_PROXY_SSL_HEADER``). From anyone else both headers are
dropped: a client cannot claim another address, nor HTTPS over plain HTTP.
"""

import ipaddress

from django.conf import settings

from config.networks import Network, address_in, parse_networks


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_address(peer: str, forwarded_for: str, trusted: list[Network]) -> str:
    """The user's address: walking X-Forwarded-For back from ``peer`` over trusted proxies."""
    client = peer
    if not _is_trusted(peer, trusted):
        return client
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:  # garbled: the last hop known good is as far as one can tell
            break
        client = str(address)
        if not any(address in network for network in trusted):
            break
    return client


def _is_trusted(text: str, trusted: list[Network]) -> bool:
    return address_in(text, trusted)


class TrustedProxiesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.trusted = parse_networks(
            settings.BATON_TRUSTED_PROXIES, setting="BATON_TRUSTED_PROXIES"
        )

    def __call__(self, request):
        meta = request.META
        peer = meta.get("REMOTE_ADDR", "")
        if _is_trusted(peer, self.trusted):
            meta["REMOTE_ADDR"] = client_address(
                peer, meta.get("HTTP_X_FORWARDED_FOR", ""), self.trusted
            )
        else:
            meta.pop("HTTP_X_FORWARDED_FOR", None)
            meta.pop("HTTP_X_FORWARDED_PROTO", None)
        return self.get_response(request)
