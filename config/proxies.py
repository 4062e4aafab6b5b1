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

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class BadProxyNetwork(ValueError):
    """An entry of BATON_TRUSTED_PROXIES is no IP address or network."""


def parse_networks(entries: list[str]) -> list[Network]:
    """``["10.0.0.0/8", "192.0.2.7"]`` as networks; a bad entry is named in the error."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise BadProxyNetwork(
                f"BATON_TRUSTED_PROXIES: {entry.strip()!r} is not an IP address or a network "
                "such as 10.0.0.0/8 (separate several with commas)."
            ) from None
    return networks


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
    address = _address(text)
    return address is not None and any(address in network for network in trusted)


class TrustedProxiesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.trusted = parse_networks(settings.BATON_TRUSTED_PROXIES)

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
