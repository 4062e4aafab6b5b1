"""A shell step that shows the text it gets for each kind of parameter, in argv and env."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Literal

from workflows import shell, workflow

SHOW = 'for item in "$@"; do echo "argv=$item"; done; env | grep "^BATON_PARAM_" | sort'


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@workflow
def plain_values(
    day: date,
    at: datetime,
    clock: time,
    wait: timedelta,
    ratio: float,
    price: Decimal,
    yes: bool,
    no: bool,
    count: int,
    nothing: str | None,
    tags: list[str],
    extra: dict,
    mode: Literal["full", "delta"],
    colour: Colour,
    word: str,
):
    items = [day, at, clock, wait, ratio, price, yes, no, count, nothing, tags, extra, mode]
    shell("show", ["sh", "-c", SHOW, "sh", *items, colour, word, 7, 2.5, True, None])
