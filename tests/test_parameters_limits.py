"""Bounds and storable text in the one parameter validator (workflows/parameter_limits.py)."""

import json
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

import pytest
from django.contrib.auth.models import Group
from django.http import QueryDict
from django.utils import translation

from workflows import Range
from workflows.parameter_limits import MAX_SAFE_INTEGER, quoted

from .test_parameters import clean, definition_error, errors_for, schema_for

NUL = "Text may not contain NUL (\\u0000) characters."
SURROGATE = (
    "Text may not contain lone surrogates (\\ud800 to \\udfff): they are not Unicode characters."
)
SAFE = f"Must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}."


# --- Range ------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["0", 101, "-5"])
def test_a_value_outside_a_declared_range_is_refused_beside_its_field(raw):
    schema = schema_for(Annotated[int, "How many", Range(1, 100)])

    assert errors_for(schema, {"value": raw}) == {"value": ["Must be between 1 and 100."]}
    assert errors_for(schema, QueryDict(f"value={raw}")) == {
        "value": ["Must be between 1 and 100."]
    }


def test_the_ends_of_a_range_are_inside_it():
    hint = Annotated[int, Range(1, 100)]

    assert (clean(hint, 1), clean(hint, "100")) == (1, 100)


@pytest.mark.parametrize(
    ("hint", "raw", "message"),
    [
        (Annotated[float, Range(min=0)], "-0.5", "Must be at least 0."),
        (Annotated[float, Range(0, 1)], 1.5, "Must be between 0 and 1."),
        (Annotated[Decimal, Range(max=Decimal("9.99"))], "10", "Must be at most 9.99."),
        (Annotated[Decimal, Range(Decimal("0.01"), 5)], "0", "Must be between 0.01 and 5."),
    ],
)
def test_a_range_bounds_floats_and_decimals_too(hint, raw, message):
    assert errors_for(schema_for(hint), {"value": raw}) == {"value": [message]}


def test_a_range_gives_the_number_input_its_min_and_max():
    html = str(schema_for(Annotated[int, Range(1, 100)], 10).form_class()()["value"])
    decimal = str(schema_for(Annotated[Decimal, Range(min=Decimal("0.01"))]).form_class()())

    assert '<input type="number" name="value" value="10" min="1" max="100" id=' in html
    assert 'min="0.01"' in decimal
    assert "max=" not in decimal  # no bound declared: a decimal has no largest value


def test_a_range_is_in_the_json_schema():
    assert schema_for(Annotated[int, Range(1, 100)])["value"].json_schema() == {
        "title": "Value",
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
    }
    assert schema_for(Annotated[float, Range(max=1)])["value"].json_schema() == {
        "title": "Value",
        "type": "number",
        "maximum": 1,
    }


def test_a_decimal_bound_is_a_json_number_in_the_schema():
    schema = schema_for(Annotated[float, Range(Decimal("0.5"), 2)])["value"].json_schema()

    assert (schema["minimum"], schema["maximum"]) == (0.5, 2)
    assert json.dumps(schema)


def test_an_optional_parameter_keeps_its_range():
    schema = schema_for(Annotated[int | None, Range(1, 3)], None)

    assert schema.validate({"value": None}) == {"value": None}
    assert errors_for(schema, {"value": 4}) == {"value": ["Must be between 1 and 3."]}


def test_the_range_message_is_in_french():
    schema = schema_for(Annotated[int, Range(1, 100)])

    with translation.override("fr"):
        errors = errors_for(schema, {"value": 0})

    assert errors == {"value": ["Doit être compris entre 1 et 100."]}


@pytest.mark.parametrize(
    ("hint", "default", "reason"),
    [
        (
            Annotated[int, Range(1, 100)],
            0,
            "parameter 'value' has a default 0 that is not valid: Must be between 1 and 100.",
        ),
        (
            Annotated[str, Range(1, 2)],
            "x",
            "parameter 'value' has a Range in Annotated, which bounds int, float and Decimal "
            "parameters",
        ),
        (
            Annotated[int, Range(5, 1)],
            3,
            "parameter 'value' has Range(min=5, max=1), whose min is above its max",
        ),
        (
            Annotated[int, Range()],
            3,
            "parameter 'value' has Range(min=None, max=None): give a number as min, max or both",
        ),
        (
            Annotated[int, Range("1", 3)],
            3,
            "parameter 'value' has Range(min='1', max=3): give a number as min, max or both",
        ),
        (
            Annotated[int, Range(0, 2**63)],
            3,
            f"parameter 'value' has Range(min=0, max={2**63}) beyond ±{MAX_SAFE_INTEGER}, "
            "the whole numbers JSON carries exactly",
        ),
    ],
)
def test_a_range_that_cannot_apply_is_a_definition_error(hint, default, reason):
    def fn(value=default):
        pass

    fn.__annotations__ = {"value": hint}

    assert definition_error(fn) == (f"workflow 'nightly' (billing/workflows.py:42): {reason}")


# --- What JSON and the database hold --------------------------------------------------------


@pytest.mark.parametrize("raw", [MAX_SAFE_INTEGER + 1, -MAX_SAFE_INTEGER - 1, str(10**30)])
def test_a_whole_number_beyond_what_json_carries_exactly_is_refused(raw):
    assert errors_for(schema_for(int), {"value": raw}) == {"value": [SAFE]}


def test_the_largest_safe_whole_numbers_are_accepted():
    assert clean(int, MAX_SAFE_INTEGER) == MAX_SAFE_INTEGER
    assert clean(int, str(-MAX_SAFE_INTEGER)) == -MAX_SAFE_INTEGER


def test_a_declared_range_with_one_end_keeps_the_other_safe():
    assert errors_for(schema_for(Annotated[int, Range(min=1)]), {"value": 2**60}) == {
        "value": [f"Must be between 1 and {MAX_SAFE_INTEGER}."]
    }


@pytest.mark.parametrize("raw", ["1e200000", "1e-20000", "9" * 131073])
def test_a_decimal_postgresql_cannot_hold_is_refused(raw):
    assert errors_for(schema_for(Decimal), {"value": raw}) == {
        "value": [
            "This number has too many digits: at most 131072 before the decimal point "
            "and 16383 after it."
        ]
    }


def test_a_decimal_at_the_limits_is_accepted():
    assert clean(Decimal, "1e131071") == Decimal("1e131071")
    assert clean(Decimal, "1e-16383") == Decimal("1e-16383")


# --- Text PostgreSQL cannot store -------------------------------------------------------------


@pytest.mark.parametrize(
    ("hint", "raw", "message"),
    [
        (str, "a\x00b", NUL),
        (str, "\ud800", SURROGATE),
        (list[str], ["ok", "\udcff"], SURROGATE),
        (list[str], "one\n\x00two", NUL),
        (dict, {"key": ["\x00"]}, NUL),
        (dict, {"\ud83d": 1}, SURROGATE),
        (dict, '{"key": "\\u0000"}', NUL),  # JSON text whose escapes decode into it
        (dict, '{"key": "\\ud800"}', SURROGATE),
        (Literal["a", "b"], "\x00", NUL),
        (int, "1\x00", NUL),
        (date, "\ud800", SURROGATE),
        (bool, "\x00", NUL),
    ],
)
def test_text_postgresql_cannot_store_is_refused_beside_its_field(hint, raw, message):
    schema = schema_for(hint)

    assert errors_for(schema, {"value": raw}) == {"value": [message]}


def test_a_nul_in_a_form_text_area_is_refused():
    schema = schema_for(list[str], ["ops@example.com"])

    assert errors_for(schema, QueryDict("value=%00x")) == {"value": [NUL]}


@pytest.mark.django_db
def test_a_row_is_not_looked_up_with_text_the_database_cannot_store(django_assert_num_queries):
    schema = schema_for(Group)

    with django_assert_num_queries(0):
        assert errors_for(schema, {"value": "\x00"}) == {"value": [NUL]}


def test_the_storable_text_message_is_in_french():
    with translation.override("fr"):
        errors = errors_for(schema_for(str), {"value": "\x00"})

    assert errors == {"value": ["Le texte ne peut pas contenir de caractère NUL (\\u0000)."]}


def test_a_default_with_a_nul_is_a_definition_error():
    def fn(value: str = "a\x00"):
        pass

    assert "has a default 'a\\x00' that is not valid: Text may not contain NUL" in (
        definition_error(fn)
    )


# --- Messages quote at most 200 characters ----------------------------------------------------


def test_an_unknown_parameter_of_a_megabyte_name_is_quoted_short():
    name = "x" * 1_000_000

    errors = errors_for(schema_for(int), {"value": 1, name: 2})

    ((key, [message]),) = [item for item in errors.items() if item[0] != "value"]
    assert key == "x" * 199 + "…"
    assert message == f"Unknown parameter: this workflow has no parameter named '{key}'."


def test_an_invalid_choice_of_a_megabyte_is_quoted_short():
    errors = errors_for(schema_for(Literal["a", "b"]), {"value": "y" * 1_000_000})

    assert errors == {"value": [f"“{'y' * 199}…” is not a valid choice. Choose one of: a, b."]}


def test_quoted_escapes_what_a_page_could_not_encode():
    assert quoted("a\x00b\ud800") == "a\\u0000b\\ud800"
    assert quoted("short") == "short"
    assert quoted(12) == "12"


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [2**70, str(-(2**70)), "9" * 30])
def test_a_primary_key_beyond_the_database_column_is_no_row_not_an_overflow(raw):
    errors = errors_for(schema_for(Group), {"value": raw})

    assert errors["value"][0].startswith("Select a valid group:")
