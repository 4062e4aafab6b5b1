"""The plain text of a value, as a shell step receives it: argv items and BATON_PARAM_* variables.

One rule, so a script sees the same text for a value whichever way it arrives:

=================  ==================================  ==========================
value              text                                example
=================  ==================================  ==========================
str (and Literal)  itself, no quotes                   ``two words``
int                digits                              ``3``
float, Decimal     the number, no exponent for Decimal ``2.5``, ``2.50``
bool               ``true`` / ``false``                ``true``
None               empty                               ````
date               ISO 8601                            ``2026-11-29``
datetime           ISO 8601 with its offset            ``2026-11-29T08:15:00+00:00``
time               ISO 8601                            ``07:30:00``
timedelta          seconds (a whole number if whole)   ``5400``, ``1.5``
Enum               its value's text                    ``red``
list, dict         JSON (dates etc. as text inside)    ``["a", "b"]``
=================  ==================================  ==========================
"""

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any


def plain_text(value: Any) -> str:
    """``value`` as one argv item or environment variable value (see the table above)."""
    if isinstance(value, Enum):
        return plain_text(value.value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=_inside_json, ensure_ascii=False)
    return _scalar_text(value)


def _scalar_text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        return str(int(seconds)) if seconds.is_integer() else str(seconds)
    return str(value)


def _inside_json(value: Any) -> Any:
    """A value JSON has no type for, inside a list or dict: its plain text."""
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return plain_text(value)
