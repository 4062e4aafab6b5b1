"""What a value may be beyond its type: declared bounds, and what the database and JSON hold.

- ``Range``: bounds a workflow declares, ``Annotated[int, Range(1, 100)]``.
- Whole numbers stay within ±(2**53 - 1), the integers JSON carries exactly (I-JSON,
  RFC 7493): a browser or any JavaScript client reads a bigger one rounded, and
  every accepted value also fits a 64-bit database column.
- Decimals fit PostgreSQL's ``numeric``: at most 131072 digits before the point and
  16383 after.
- Text holds no NUL and no lone surrogate: PostgreSQL stores neither, in text or JSON.
- ``quoted`` shows a user's input inside a message: short, and printable whatever it holds.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MAX_SAFE_INTEGER = 2**53 - 1
DECIMAL_WHOLE_DIGITS = 131072
DECIMAL_FRACTION_DIGITS = 16383
QUOTE_LIMIT = 200

NUL_REFUSED = _("Text may not contain NUL (\\u0000) characters.")
SURROGATE_REFUSED = _(
    "Text may not contain lone surrogates (\\ud800 to \\udfff): they are not Unicode characters."
)


@dataclass(frozen=True)
class Range:
    """Inclusive bounds of a number parameter, shown beside the field and checked everywhere.

        @workflow
        def top_sellers(
            top_n: Annotated[int, "How many to list", Range(1, 100)] = 10,
            ratio: Annotated[float, Range(0, 1)] = 0.5,
            price: Annotated[Decimal, Range(min=Decimal("0.01"))] = Decimal("1.00"),
        ): ...

    Give ``min``, ``max`` or both; for ``int``, ``float`` and ``Decimal`` parameters.
    A value outside is refused with "Must be between 1 and 100." (the form, the API,
    schedules and the command line alike), and the number input gets ``min``/``max``.
    """

    min: int | float | Decimal | None = None
    max: int | float | Decimal | None = None

    def message(self):
        """The words shown when a value is outside, translated when shown."""
        if self.max is None:
            return _("Must be at least %(min)s.")
        if self.min is None:
            return _("Must be at most %(max)s.")
        return _("Must be between %(min)s and %(max)s.")

    def contains(self, value) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def __call__(self, value) -> None:
        """A form field validator."""
        if value is not None and not self.contains(value):
            raise ValidationError(
                self.message(), code="out_of_range", params={"min": self.min, "max": self.max}
            )


SAFE_INTEGERS = Range(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)


def decimal_fits(value: Decimal) -> bool:
    """Whether PostgreSQL's ``numeric`` can hold ``value`` (finite ones only)."""
    exponent = value.as_tuple().exponent
    whole_digits = value.adjusted() + 1
    return whole_digits <= DECIMAL_WHOLE_DIGITS and -exponent <= DECIMAL_FRACTION_DIGITS


def check_decimal_fits(value) -> None:
    """A form field validator for ``decimal_fits``."""
    if isinstance(value, Decimal) and value.is_finite() and not decimal_fits(value):
        raise ValidationError(
            _(
                "This number has too many digits: at most %(whole)s before the decimal "
                "point and %(fraction)s after it."
            ),
            code="too_many_digits",
            params={"whole": DECIMAL_WHOLE_DIGITS, "fraction": DECIMAL_FRACTION_DIGITS},
        )


# --- Text the database cannot store -------------------------------------------------------


@dataclass(frozen=True)
class BadText:
    """The first character PostgreSQL would refuse, and where it is in a JSON-like value."""

    character: str
    path: tuple = ()  # keys and list indexes from the top value down to the text

    @property
    def is_nul(self) -> bool:
        return self.character == "\x00"

    @property
    def message(self):
        return NUL_REFUSED if self.is_nul else SURROGATE_REFUSED

    @property
    def shown(self) -> str:
        """The character as a Python escape, e.g. ``\\u0000``."""
        return f"\\u{ord(self.character):04x}"

    def where(self, top: str = "result") -> str:
        """``result['rows'][3]['name']``: the path as Python code reaching the text."""
        return top + "".join(f"[{step!r}]" for step in self.path)


def _refused_character(text: str) -> str | None:
    if "\x00" in text:
        return "\x00"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return text[exc.start]
    return None


def find_bad_text(value, path: tuple = ()) -> BadText | None:
    """The first NUL or lone surrogate in ``value``: text, or lists and dicts of it (keys too)."""
    if isinstance(value, str):
        character = _refused_character(value)
        return BadText(character, path) if character else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = find_bad_text(key, path) or find_bad_text(item, (*path, key))
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = find_bad_text(item, (*path, index))
            if found:
                return found
    return None


def refuse_bad_text(value) -> None:
    """Raise a form ``ValidationError`` when ``value`` holds text PostgreSQL cannot store."""
    found = find_bad_text(value)
    if found:
        raise ValidationError(found.message, code="unstorable_text")


def escaped(text: str) -> str:
    """``text`` with NUL and lone surrogates written as ``\\u0000`` escapes: storable, printable."""
    if _refused_character(text) is None:
        return text
    return "".join(
        f"\\u{ord(char):04x}" if char == "\x00" or 0xD800 <= ord(char) <= 0xDFFF else char
        for char in text
    )


def quoted(value, limit: int = QUOTE_LIMIT) -> str:
    """A user's input for a message: at most ``limit`` characters, NUL and surrogates escaped.

    An error never echoes back a megabyte value, nor text a page could not encode.
    """
    try:
        text = value if isinstance(value, str) else str(value)
    except ValueError:  # an int of more digits than Python converts (sys.set_int_max_str_digits)
        text = f"a number of over {limit} digits"
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return escaped(text)
