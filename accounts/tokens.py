"""API token format, hashing and authentication.

A token reads ``baton_<prefix>_<secret>``: the prefix (8 hex characters) is
public and finds the row, the whole token is compared as a SHA-256 hash in
constant time. The raw token exists only in the response that created it.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone

from .models import ApiToken

# last_used_at is a hint for humans ("used 3 minutes ago"), so a busy script
# does not need one UPDATE per request.
LAST_USED_PRECISION = timedelta(minutes=1)


def generate_token() -> tuple[str, str]:
    """A new ``(prefix, raw_token)`` pair."""
    prefix = secrets.token_hex(4)
    return prefix, f"{ApiToken.KEY_START}{prefix}_{secrets.token_urlsafe(32)}"


def hash_token(raw_token: str) -> str:
    """The hex SHA-256 of a raw token, as stored in ``ApiToken.key_hash``."""
    return hashlib.sha256(raw_token.encode()).hexdigest()


def _prefix_of(raw_token: str) -> str | None:
    if not raw_token.startswith(ApiToken.KEY_START):
        return None
    prefix, separator, secret = raw_token[len(ApiToken.KEY_START) :].partition("_")
    if not separator or not secret or len(prefix) != 8:
        return None
    return prefix


def authenticate_token(raw_token: str | None):
    """``(user, token)`` for a valid raw token, else None.

    Refuses malformed, unknown, revoked and expired tokens, and tokens of
    inactive users. Records the time of use (at most once a minute per token).
    """
    prefix = _prefix_of(raw_token or "")
    if prefix is None:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.key_hash, hash_token(raw_token)):
        return None
    now = timezone.now()
    if token.status(now) != ApiToken.Status.ACTIVE or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token
