"""Settings that list addresses and networks ("10.0.0.0/8,192.0.2.7"), read once, checked once.

``BATON_TRUSTED_PROXIES`` (config/proxies.py) and ``BATON_METRICS_ALLOWED_NETWORKS``
(runs/metrics/access.py) are such lists; a bad entry stops start-up naming it.
"""

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class BadNetworkSetting(ValueError):
    """An entry of a setting that lists networks is no IP address or network."""


def parse_networks(entries: list[str], *, setting: str) -> list[Network]:
    """``["10.0.0.0/8", "192.0.2.7"]`` as networks; a bad entry is named in the error."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise BadNetworkSetting(
                f"{setting}: {entry.strip()!r} is not an IP address or a network such as "
                "10.0.0.0/8 (separate several with commas)."
            ) from None
    return networks


def address_in(text: str, networks: list[Network]) -> bool:
    """Whether ``text`` is an IP address inside one of ``networks``."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return False
    return any(address in network for network in networks)
