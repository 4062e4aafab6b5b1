"""Masking secrets in audit details before they are stored (and hashed) for good."""

import re
from collections.abc import Mapping

from workflows.references import Secret

MASK = "********"

# Key names whose values are never stored. Matched anywhere in the key, in any
# case ("db_password", "X-Api-Key", "clientSecret"); a false positive only hides
# a harmless value, a false negative would keep a secret forever.
SENSITIVE_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|credential|api[-_]?key|private[-_]?key"
    r"|^key$|[-_]key$|authorization|cookie|session|signature|pin$",
    re.IGNORECASE,
)
# A Baton API token pasted into a free-text value (a reason, a parameter).
API_TOKEN_VALUE = re.compile(r"baton_[0-9a-f]{8}_\S+")


def is_sensitive_key(key) -> bool:
    """Whether a details key names a secret (its value is then masked)."""
    return bool(SENSITIVE_KEY.search(str(key)))


def mask_secrets(value):
    """A copy of ``value`` with secrets replaced by ``MASK``, recursively.

    Masks the values of password-like keys, ``workflows.Secret`` values and
    Baton API tokens inside strings. Empty values stay as they are: knowing
    that no password was given is not a secret.
    """
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, Mapping):
        return {
            str(key): MASK
            if is_sensitive_key(key) and item not in (None, "")
            else mask_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [mask_secrets(item) for item in value]
    if isinstance(value, str):
        return API_TOKEN_VALUE.sub(MASK, value)
    return value
