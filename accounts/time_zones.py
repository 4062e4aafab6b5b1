"""Each person's time zone: the one they chose on their preferences page, else their browser's.

The browser's comes in the ``baton_tz`` cookie, set by static/js/timezone.js
(``Intl.DateTimeFormat().resolvedOptions().timeZone``); a chosen one is copied
into the session at login and when saved, so no page pays a query for it.
Names are checked against the IANA database: an unknown one is ignored and
the pages keep the server's TIME_ZONE.
"""

import functools
import zoneinfo
from urllib.parse import unquote

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone

from .models import TimeZonePreference

COOKIE = "baton_tz"
SESSION_KEY = "baton_time_zone"


@functools.cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_named(name: str | None) -> zoneinfo.ZoneInfo | None:
    if not name or name not in known_zones():
        return None
    return zoneinfo.ZoneInfo(name)


class TimeZoneMiddleware:
    """Activate the person's time zone for the request (chosen, else the browser's)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        chosen = session.get(SESSION_KEY) if session is not None else None
        zone = zone_named(chosen) or zone_named(unquote(request.COOKIES.get(COOKIE, "")))
        request.time_zone_chosen = bool(zone_named(chosen))
        if zone is not None:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def time_zone_save(*, user, name: str, request=None) -> None:
    """Keep ``name`` as ``user``'s time zone ("" to follow the browser again)."""
    if name and zone_named(name) is None:
        raise ValueError(f"unknown time zone {name!r}")
    if name:
        TimeZonePreference.objects.update_or_create(user=user, defaults={"time_zone": name})
    else:
        TimeZonePreference.objects.filter(user=user).delete()
    if request is not None:
        request.session[SESSION_KEY] = name


@receiver(user_logged_in, dispatch_uid="baton_time_zone_at_login")
def _time_zone_at_login(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    preference = TimeZonePreference.objects.filter(user=user).first()
    request.session[SESSION_KEY] = preference.time_zone if preference else ""
