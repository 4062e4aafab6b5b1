"""A workflow's signature as form, JSON Schema and validator (workflows/parameters.py)."""

import json
import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Optional

import pytest
from django import forms
from django.contrib.auth.models import Group
from django.http import QueryDict
from django.utils import timezone

from workflows import Range
from workflows.errors import DefinitionError, ParameterErrors
from workflows.parameters import MISSING, ParameterSchema

UTC = zoneinfo.ZoneInfo("UTC")
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


class Mode(Enum):
    FULL = "full"
    DELTA = "delta"


class Level(Enum):
    LOW = 1
    HIGH = 2


def schema_for(hint, default=MISSING) -> ParameterSchema:
    """The schema of a workflow with one parameter, ``value: hint = default``."""

    def fn(value):
        pass

    fn.__annotations__ = {"value": hint}
    if default is not MISSING:
        fn.__defaults__ = (default,)
    return ParameterSchema.from_function(fn, workflow="wf", file="billing/workflows.py", line=42)


def clean(hint, raw, default=MISSING, **options):
    return schema_for(hint, default).validate({"value": raw}, **options)["value"]


def errors_for(schema, data, **options) -> dict:
    with pytest.raises(ParameterErrors) as caught:
        schema.validate(data, **options)
    return caught.value.errors


def definition_error(fn) -> str:
    with pytest.raises(DefinitionError) as caught:
        ParameterSchema.from_function(fn, workflow="nightly", file="billing/workflows.py", line=42)
    return str(caught.value)


def typed(value):
    """Compare values and types: 3 == 3.0 == True in Python, not for a user."""
    return value, type(value)


# --- Each type: a valid value, from form strings and from JSON ------------------------------


@pytest.mark.parametrize(
    ("hint", "raw", "expected"),
    [
        (str, "hello", "hello"),
        (str, "  padded  ", "padded"),
        (int, "3", 3),
        (int, 3, 3),
        (int, "-12", -12),
        (float, "2.5", 2.5),
        (float, 2, 2.0),
        (Decimal, "1.10", Decimal("1.10")),
        (Decimal, 1.1, Decimal("1.1")),
        (bool, True, True),
        (bool, False, False),
        (bool, "true", True),
        (bool, "TRUE", True),
        (bool, "on", True),
        (bool, "1", True),
        (bool, "yes", True),
        (bool, "false", False),
        (bool, "0", False),
        (bool, "no", False),
        (date, "2024-01-31", date(2024, 1, 31)),
        (datetime, "2024-01-31T14:30:00+02:00", datetime(2024, 1, 31, 12, 30, tzinfo=UTC)),
        (datetime, "2024-01-31T14:30Z", datetime(2024, 1, 31, 14, 30, tzinfo=UTC)),
        (time, "14:30", time(14, 30)),
        (time, "14:30:15", time(14, 30, 15)),
        (timedelta, "1 day, 2:00:00", timedelta(days=1, hours=2)),
        (timedelta, "02:00:00", timedelta(hours=2)),
        (timedelta, "P1DT2H", timedelta(days=1, hours=2)),
        (timedelta, "90", timedelta(seconds=90)),
        (timedelta, 90, timedelta(seconds=90)),
        (timedelta, 1.5, timedelta(seconds=1.5)),
        (Literal["full", "delta"], "full", "full"),
        (Literal[1, 2], "2", 2),
        (Literal[1, 2], 2, 2),
        (Mode, "delta", Mode.DELTA),
        (Level, "2", Level.HIGH),
        (Level, 1, Level.LOW),
        (list[str], ["a", "b c"], ["a", "b c"]),
        (list[str], "a\n\n  b c \r\n", ["a", "b c"]),
        (dict, {"a": [1, 2]}, {"a": [1, 2]}),
        (dict, '{"a": [1, 2]}', {"a": [1, 2]}),
        (dict[str, Any], "{}", {}),
    ],
)
def test_it_cleans_each_type_to_its_python_value(hint, raw, expected):
    assert typed(clean(hint, raw)) == typed(expected)


def test_it_reads_naive_datetimes_in_the_current_time_zone():
    with timezone.override(PARIS):
        value = clean(datetime, "2024-01-31T14:30")  # what <input type=datetime-local> sends

    assert value == datetime(2024, 1, 31, 14, 30, tzinfo=PARIS)
    assert value.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("hint", "raw", "message"),
    [
        (str, ["a"], "Enter text."),
        (str, 5, "Enter text."),
        (int, 3.5, "Enter a whole number."),
        (int, "3.5", "Enter a whole number."),
        (int, "three", "Enter a whole number."),
        (int, True, "Enter a whole number."),
        (int, [3], "Enter a whole number."),
        (float, "abc", "Enter a number."),
        (float, "inf", "Enter a number."),
        (float, True, "Enter a number."),
        (Decimal, "1,5", "Enter a number."),
        (Decimal, "NaN", "Enter a number."),
        (bool, "maybe", "Enter true or false."),
        (bool, "2", "Enter true or false."),
        (bool, 1, "Enter true or false."),
        (bool, [], "Enter true or false."),
        (date, "31/01/2024", "Enter a valid date, like 2024-01-31."),
        (date, "2024-02-30", "Enter a valid date, like 2024-01-31."),
        (date, 20240131, "Enter a valid date, like 2024-01-31."),
        (datetime, "yesterday", "Enter a valid date and time, like 2024-01-31 14:30."),
        (datetime, 1706711400, "Enter a valid date and time, like 2024-01-31 14:30."),
        (time, "25:00", "Enter a valid time, like 14:30."),
        (time, 1430, "Enter a valid time, like 14:30."),
        (
            timedelta,
            "an hour",
            "Enter a duration, like 1:30:00 for an hour and a half, 2 days, 0:00:00, "
            "or a number of seconds.",
        ),
        (
            timedelta,
            True,
            "Enter a duration, like 1:30:00 for an hour and a half, 2 days, 0:00:00, "
            "or a number of seconds.",
        ),
        (
            Literal["full", "delta"],
            "weekly",
            "“weekly” is not a valid choice. Choose one of: full, delta.",
        ),
        (Literal[1, 2], 3, "“3” is not a valid choice. Choose one of: 1, 2."),
        (Literal[1, 2], True, "“True” is not a valid choice. Choose one of: 1, 2."),
        (Mode, "FULL", "“FULL” is not a valid choice. Choose one of: full, delta."),
        (list[str], 5, "Enter a list of text items, one per line."),
        (list[str], ["a", 2], "Enter a list of text items: item 2 is not text."),
        (dict, [1, 2], 'Enter a JSON object in braces, like {"key": "value"}, not a list.'),
        (dict, "[1, 2]", 'Enter a JSON object in braces, like {"key": "value"}, not a list.'),
        (dict, '"text"', 'Enter a JSON object in braces, like {"key": "value"}, not text.'),
        (dict, 5, 'Enter a JSON object in braces, like {"key": "value"}, not a number.'),
        (
            dict,
            "{'a': 1}",
            "Enter a valid JSON object: Expecting property name enclosed in double quotes "
            "at line 1, column 2.",
        ),
        (dict, '{"a": NaN}', "Enter a valid JSON object: NaN is not a JSON value."),
        (
            dict,
            {"since": date(2024, 1, 1)},
            "This value cannot be stored as JSON: Object of type date is not JSON serializable.",
        ),
    ],
)
def test_it_explains_an_invalid_value_of_each_type(hint, raw, message):
    assert errors_for(schema_for(hint), {"value": raw}) == {"value": [message]}


def test_it_reports_every_bad_field_at_once():
    def fn(count: int, day: date, mode: Literal["a", "b"] = "a"):
        pass

    schema = ParameterSchema.from_function(fn, workflow="wf")

    errors = errors_for(schema, {"count": "x", "mode": "c", "extra": 1})

    assert list(errors) == ["count", "day", "mode", "extra"]  # the order of the form
    assert errors == {
        "count": ["Enter a whole number."],
        "day": ["This field is required."],
        "mode": ["“c” is not a valid choice. Choose one of: a, b."],
        "extra": ["Unknown parameter: this workflow has no parameter named 'extra'."],
    }


# --- Missing values, defaults, Optional ------------------------------------------------------


@pytest.mark.parametrize("hint", [str, int, date, Mode, list[str], dict, timedelta])
@pytest.mark.parametrize("data", [{}, {"value": None}, {"value": ""}])
def test_it_requires_a_value_without_default(hint, data):
    assert errors_for(schema_for(hint), data) == {"value": ["This field is required."]}


@pytest.mark.parametrize(
    ("hint", "default"),
    [
        (int, 7),
        (float, 0.5),
        (date, date(2024, 1, 31)),
        (time, time(3)),
        (timedelta, timedelta(minutes=5)),
        (Mode, Mode.DELTA),
        (Literal["full", "delta"], "delta"),
        (bool, True),
        (list[str], ["a"]),
        (dict, {"a": 1}),
        (str, "abc"),
    ],
)
def test_it_fills_in_the_default_for_a_missing_value(hint, default):
    assert typed(schema_for(hint, default).validate({})["value"]) == typed(default)


@pytest.mark.parametrize(
    ("hint", "default"),
    [
        (int, 7),
        (float, 0.5),
        (Decimal, Decimal("1.5")),
        (date, date(2024, 1, 31)),
        (time, time(3)),
        (timedelta, timedelta(minutes=5)),
        (Mode, Mode.DELTA),
        (bool, True),
        (list[str], ["a"]),
        (dict, {"a": 1}),
        (str, "abc"),
    ],
)
def test_an_explicit_null_never_takes_the_default_of_a_parameter_without_none(hint, default):
    schema = schema_for(hint, default)

    assert errors_for(schema, {"value": None}) == {"value": ["This field is required."]}


@pytest.mark.parametrize(
    ("hint", "default"),
    [
        (int, 7),
        (float, 0.5),
        (Decimal, Decimal("1.5")),
        (date, date(2024, 1, 31)),
        (datetime, datetime(2024, 1, 31, tzinfo=UTC)),
        (time, time(3)),
        (timedelta, timedelta(minutes=5)),
        (Literal["full", "delta"], "delta"),
        (dict, {"a": 1}),
    ],
)
def test_a_cleared_form_field_is_an_error_beside_it_not_the_default(hint, default):
    schema = schema_for(hint, default)

    assert errors_for(schema, QueryDict("value=")) == {"value": ["This field is required."]}
    assert errors_for(schema, {"value": ""}) == {"value": ["This field is required."]}


def test_blank_text_and_an_empty_list_are_values_of_their_own():
    assert clean(str, "", default="abc") == ""
    assert clean(list[str], "", default=["a"]) == []
    assert schema_for(str, "abc").validate(QueryDict("value=")) == {"value": ""}


def test_a_cleared_optional_field_is_none_whatever_its_default():
    schema = schema_for(Annotated[int | None, Range(1, 9)], 5)

    assert schema.validate(QueryDict("value=")) == {"value": None}
    assert not schema["value"].form_field().required


def test_it_gives_each_run_its_own_copy_of_a_mutable_default():
    schema = schema_for(list[str], ["a"])
    schema.validate({})["value"].append("changed by a task")

    assert schema.validate({})["value"] == ["a"]
    assert schema["value"].default == ["a"]


@pytest.mark.parametrize(
    "hint",
    [
        date | None,
        Optional[date],  # noqa: UP045 - authors still write it
        Annotated[date | None, "Day"],
        Annotated[date, "Day"] | None,
    ],
)
def test_it_reads_optional_parameters_as_nullable(hint):
    schema = schema_for(hint)
    (parameter,) = schema

    assert (parameter.kind, parameter.nullable, parameter.required) == ("date", True, False)
    assert schema.validate({}) == {"value": None}
    assert schema.validate({"value": ""}) == {"value": None}
    assert schema.validate({"value": "2024-01-31"}) == {"value": date(2024, 1, 31)}


def test_it_uses_the_default_of_a_nullable_parameter_only_when_the_key_is_absent():
    schema = schema_for(int | None, 100)

    assert schema.validate({}) == {"value": 100}
    assert schema.validate({"value": None}) == {"value": None}
    assert schema.validate({"value": ""}) == {"value": None}


def test_it_normalises_defaults_to_their_own_type():
    def fn(ratio: float = 1, mode: Mode = "full", name: str = "  x "):
        pass

    schema = ParameterSchema.from_function(fn, workflow="wf")

    assert typed(schema["ratio"].default) == typed(1.0)
    assert schema["mode"].default is Mode.FULL
    assert schema["name"].default == "x"


# --- Booleans from forms and from JSON --------------------------------------------------------


def test_it_reads_an_absent_checkbox_as_false_in_a_form():
    def fn(dry_run: bool = True, notify: bool = False):
        pass

    schema = ParameterSchema.from_function(fn, workflow="wf")

    posted = QueryDict("notify=on&csrfmiddlewaretoken=abc")
    assert schema.validate(posted) == {"dry_run": False, "notify": True}


def test_it_uses_the_default_for_an_absent_bool_in_json():
    assert schema_for(bool, True).validate({}) == {"value": True}


def test_it_requires_a_bool_without_default_in_json_but_not_in_a_form():
    schema = schema_for(bool)

    assert errors_for(schema, {}) == {"value": ["This field is required."]}
    assert schema.validate({}, from_form=True) == {"value": False}
    assert schema.validate(QueryDict("")) == {"value": False}


def test_it_offers_yes_no_and_blank_for_a_nullable_bool():
    schema = schema_for(bool | None)
    field = schema["value"].form_field()

    assert list(field.widget.choices) == [("", "---------"), ("true", "Yes"), ("false", "No")]
    assert schema.validate(QueryDict("value=")) == {"value": None}
    assert schema.validate(QueryDict("value=false")) == {"value": False}
    assert schema.validate({}) == {"value": None}


# --- Help text, choices ----------------------------------------------------------------------


def test_it_takes_help_text_from_annotated():
    schema = schema_for(Annotated[int, "Site to export"])
    parameter = schema["value"]

    assert parameter.help_text == "Site to export"
    assert parameter.form_field().help_text == "Site to export"
    assert parameter.json_schema()["description"] == "Site to export"
    assert "Site to export" in schema.form_class()().as_p()


def test_it_lists_literal_choices():
    parameter = schema_for(Literal["full", "delta"], "delta")["value"]

    assert parameter.kind == "choice"
    assert parameter.choices == (("full", "full"), ("delta", "delta"))
    assert parameter.describe_type() == "one of: full, delta"
    assert parameter.form_field().choices == [("full", "full"), ("delta", "delta")]


def test_it_lists_enum_values_with_readable_labels():
    class Export(Enum):
        FULL_EXPORT = "full"
        DELTA = "delta"

    parameter = schema_for(Export)["value"]

    assert parameter.choices == (("full", "Full export"), ("delta", "Delta"))
    assert parameter.enum is Export
    # No default: the user must pick, so the list starts blank.
    assert parameter.form_field().choices == [
        ("", "---------"),
        ("full", "Full export"),
        ("delta", "Delta"),
    ]


@pytest.mark.parametrize(
    ("hint", "words"),
    [
        (str, "text"),
        (int, "whole number"),
        (float, "number"),
        (Decimal, "decimal number"),
        (bool, "yes or no"),
        (date, "date"),
        (datetime, "date and time"),
        (time, "time of day"),
        (timedelta, "duration"),
        (Level, "one of: 1, 2"),
        (list[str], "list of text, one item per line"),
        (dict, "JSON object"),
        (Group, "group"),
    ],
)
def test_it_describes_each_type_in_words(hint, words):
    assert schema_for(hint)["value"].describe_type() == words


# --- Django model parameters -------------------------------------------------------------------


@pytest.mark.django_db
def test_it_accepts_a_model_row_by_primary_key():
    ops = Group.objects.create(name="ops")
    schema = schema_for(Group)

    assert schema.validate({"value": ops.pk}) == {"value": ops.pk}
    assert schema.validate({"value": str(ops.pk)}) == {"value": ops.pk}
    assert schema.dump({"value": ops}) == {"value": ops.pk}
    assert schema.load({"value": ops.pk}) == {"value": ops.pk}


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [999, "999", "ops", 1.5, True])
def test_it_rejects_a_model_row_that_does_not_exist(raw):
    Group.objects.get_or_create(pk=1, defaults={"name": "ops"})  # so True could pass as 1

    assert errors_for(schema_for(Group), {"value": raw}) == {
        "value": [f"Select a valid group: “{raw}” does not exist or cannot be chosen here."]
    }


@pytest.mark.django_db
def test_it_only_accepts_rows_of_the_narrowed_queryset_at_validate_time():
    schema = schema_for(Annotated[Group, "Team", Group.objects.filter(name__startswith="ops")])
    ops = Group.objects.create(name="ops-paris")  # created after the schema: still offered
    sales = Group.objects.create(name="sales")

    assert schema.validate({"value": ops.pk}) == {"value": ops.pk}
    assert errors_for(schema, {"value": sales.pk}) == {
        "value": [f"Select a valid group: “{sales.pk}” does not exist or cannot be chosen here."]
    }
    options = [label for _pk, label in schema.form_class()().fields["value"].choices]
    assert options == ["---------", "ops-paris"]
    assert schema["value"].help_text == "Team"


def test_it_takes_a_primary_key_as_default_of_a_model_parameter():
    schema = schema_for(Group, 1)

    assert (schema["value"].required, schema["value"].default) == (False, 1)
    assert schema.validate({}) == {"value": 1}
    assert schema.json_schema()["properties"]["value"]["default"] == 1


def test_it_describes_a_model_parameter_in_json_schema():
    assert schema_for(Group | None)["value"].json_schema() == {
        "title": "Value",
        "type": ["integer", "string", "null"],
        "x-model": "auth.Group",
    }


# --- Unknown keys and forms --------------------------------------------------------------------


def test_it_rejects_unknown_keys_from_json():
    schema = schema_for(int, 1)

    assert errors_for(schema, {"value": 2, "site": 3}) == {
        "site": ["Unknown parameter: this workflow has no parameter named 'site'."]
    }


def test_it_ignores_keys_that_are_no_parameter_in_a_form_post():
    posted = QueryDict("value=2&csrfmiddlewaretoken=abc&submit=Run")

    assert schema_for(int).validate(posted) == {"value": 2}


# --- Declarations Baton cannot offer -----------------------------------------------------------


def test_it_refuses_an_unsupported_type_hint():
    def fn(site_ids: set[int]):
        pass

    assert definition_error(fn) == (
        "workflow 'nightly' (billing/workflows.py:42): parameter 'site_ids' has an unsupported "
        "type hint 'set[int]'; use str, int, float, Decimal, bool, date, datetime, time, "
        "timedelta, Literal[...], an Enum, list[str], dict, a Django model, each optionally "
        "'| None'"
    )


def test_it_refuses_a_class_that_is_neither_enum_nor_model():
    class Site:
        pass

    def fn(site: Site):
        pass

    assert "parameter 'site' has an unsupported type hint 'Site'; use str" in definition_error(fn)


@pytest.mark.parametrize("hint", [list[int], list, dict[str, int], int | str, tuple[str, str]])
def test_it_refuses_other_containers_and_unions(hint):
    def fn(value):
        pass

    fn.__annotations__ = {"value": hint}

    assert "parameter 'value' has an unsupported type hint" in definition_error(fn)


def test_it_refuses_a_parameter_without_type_hint():
    def fn(day):
        pass

    assert definition_error(fn) == (
        "workflow 'nightly' (billing/workflows.py:42): parameter 'day' has no type hint: "
        "add one, e.g. 'day: int'"
    )


def test_it_refuses_star_args_and_kwargs():
    def with_args(day: date, *days: date):
        pass

    def with_kwargs(day: date, **extra: str):
        pass

    assert definition_error(with_args) == (
        "workflow 'nightly' (billing/workflows.py:42): parameter '*days' is not allowed: "
        "a workflow takes named parameters only"
    )
    assert "parameter '**extra' is not allowed" in definition_error(with_kwargs)


def test_it_refuses_a_default_that_cannot_be_stored_as_json():
    def fn(options: dict = {"since": date(2024, 1, 1)}):  # noqa: B006
        pass

    assert definition_error(fn) == (
        "workflow 'nightly' (billing/workflows.py:42): parameter 'options' has a default "
        "{'since': datetime.date(2024, 1, 1)} that is not valid: This value cannot be stored "
        "as JSON: Object of type date is not JSON serializable."
    )


@pytest.mark.parametrize(
    ("hint", "default", "reason"),
    [
        (int, "abc", "has a default 'abc' that is not valid: Enter a whole number."),
        (int, "", "has a default '' that is not valid: This field is required."),
        (
            Literal["full", "delta"],
            "weekly",
            "has a default 'weekly' that is not valid: “weekly” is not a valid choice. "
            "Choose one of: full, delta.",
        ),
        (
            date,
            None,
            "defaults to None but its type hint does not allow None: write 'date | None'",
        ),
        (Group, 1.5, "has a default 1.5 that is not a primary key of Group"),
    ],
)
def test_it_refuses_a_default_that_is_not_valid_for_its_type(hint, default, reason):
    def fn(value):
        pass

    fn.__annotations__ = {"value": hint}
    fn.__defaults__ = (default,)

    assert definition_error(fn) == (
        f"workflow 'nightly' (billing/workflows.py:42): parameter 'value' {reason}"
    )


def test_it_refuses_a_queryset_on_a_parameter_that_is_no_model():
    def fn(site: Annotated[int, Group.objects.all()]):
        pass

    assert "a QuerySet in Annotated, which only narrows a Django model" in definition_error(fn)


def test_it_refuses_literal_values_that_are_not_text_or_whole_numbers():
    def fn(ratio: Literal[0.5, 1.5]):
        pass

    assert "has a choice 0.5 that is neither text nor a whole number" in definition_error(fn)


def test_it_refuses_type_hints_it_cannot_resolve():
    def fn(site: "Site"):  # noqa: F821
        pass

    assert definition_error(fn) == (
        "workflow 'nightly' (billing/workflows.py:42): its type hints cannot be read: "
        "name 'Site' is not defined"
    )


def test_it_names_the_function_file_and_line_when_the_caller_does_not():
    def fn(*args: int):
        pass

    with pytest.raises(DefinitionError) as caught:
        ParameterSchema.from_function(fn, workflow="nightly")

    assert caught.value.file == __file__
    assert caught.value.line == fn.__code__.co_firstlineno


# --- JSON Schema -----------------------------------------------------------------------------


def nightly_export(
    site_id: Annotated[int, "Site to export"],
    day: date | None = None,
    mode: Literal["full", "delta"] = "delta",
    dry_run: bool = True,
    level: Level = Level.LOW,
    tags: list[str] = ["billing"],  # noqa: B006
    options: dict = {},  # noqa: B006
    timeout: timedelta = timedelta(hours=1, seconds=30),
    since: datetime | None = None,
    price: Decimal = Decimal("1.50"),
    at: time = time(3, 0),
    ratio: float = 0.5,
    note: str = "",
):
    pass


NIGHTLY = ParameterSchema.from_function(nightly_export, workflow="nightly_export")


def test_it_writes_a_json_schema_for_the_signature():
    assert NIGHTLY.json_schema() == {
        "type": "object",
        "properties": {
            "site_id": {
                "title": "Site id",
                "type": "integer",
                "minimum": -(2**53 - 1),
                "maximum": 2**53 - 1,
                "description": "Site to export",
            },
            "day": {"title": "Day", "type": ["string", "null"], "format": "date", "default": None},
            "mode": {
                "title": "Mode",
                "type": "string",
                "enum": ["full", "delta"],
                "default": "delta",
            },
            "dry_run": {"title": "Dry run", "type": "boolean", "default": True},
            "level": {"title": "Level", "type": "integer", "enum": [1, 2], "default": 1},
            "tags": {
                "title": "Tags",
                "type": "array",
                "items": {"type": "string"},
                "default": ["billing"],
            },
            "options": {"title": "Options", "type": "object", "default": {}},
            "timeout": {
                "title": "Timeout",
                "type": ["number", "string"],
                "format": "duration",
                "default": 3630,
            },
            "since": {
                "title": "Since",
                "type": ["string", "null"],
                "format": "date-time",
                "default": None,
            },
            "price": {"title": "Price", "type": "string", "format": "decimal", "default": "1.50"},
            "at": {"title": "At", "type": "string", "format": "time", "default": "03:00:00"},
            "ratio": {"title": "Ratio", "type": "number", "default": 0.5},
            "note": {"title": "Note", "type": "string", "default": ""},
        },
        "required": ["site_id"],
        "additionalProperties": False,
    }


def test_it_allows_null_in_the_enum_of_a_nullable_choice():
    assert schema_for(Literal["a", "b"] | None)["value"].json_schema() == {
        "title": "Value",
        "type": ["string", "null"],
        "enum": ["a", "b", None],
    }


# --- The form class ----------------------------------------------------------------------------


def test_it_builds_a_form_with_fields_in_signature_order():
    form = NIGHTLY.form_class()()

    assert list(form.fields) == [p.name for p in NIGHTLY]
    assert [form.fields[name].label for name in ("site_id", "dry_run")] == ["Site id", "Dry run"]
    assert NIGHTLY.form_class() is NIGHTLY.form_class()


def test_it_picks_a_field_and_widget_for_each_type():
    fields = NIGHTLY.form_class().base_fields

    assert isinstance(fields["site_id"], forms.IntegerField)
    assert isinstance(fields["site_id"].widget, forms.NumberInput)
    assert isinstance(fields["mode"].widget, forms.Select)
    assert isinstance(fields["level"].widget, forms.Select)
    assert isinstance(fields["dry_run"].widget, forms.CheckboxInput)
    assert isinstance(fields["tags"].widget, forms.Textarea)
    assert isinstance(fields["options"].widget, forms.Textarea)
    assert isinstance(fields["price"], forms.DecimalField)
    assert isinstance(fields["ratio"], forms.FloatField)
    assert isinstance(fields["timeout"], forms.DurationField)
    assert fields["day"].widget.input_type == "date"
    assert fields["since"].widget.input_type == "datetime-local"
    assert fields["at"].widget.input_type == "time"
    assert fields["note"].widget.input_type == "text"


def test_it_shows_the_dumped_defaults_as_initial_values():
    initial = {name: field.initial for name, field in NIGHTLY.form_class().base_fields.items()}

    assert initial == {
        "site_id": None,
        "day": None,
        "mode": "delta",
        "dry_run": True,
        "level": 1,
        "tags": "billing",
        "options": "{}",
        "timeout": "1:00:30",
        "since": None,
        "price": "1.50",
        "at": "03:00:00",
        "ratio": 0.5,
        "note": "",
    }


def test_it_renders_html_inputs_a_browser_understands():
    html = NIGHTLY.form_class()().as_p()

    assert (
        '<input type="number" name="site_id" min="-9007199254740991" max="9007199254740991" '
        "required" in html
    )
    assert '<input type="date" name="day" id="id_day">' in html
    assert '<input type="datetime-local" name="since" id="id_since">' in html
    assert '<input type="time" name="at" value="03:00:00" id="id_at">' in html
    assert '<input type="checkbox" name="dry_run" id="id_dry_run" checked>' in html
    assert '<option value="delta" selected>delta</option>' in html
    assert '<textarea name="tags" cols="40" rows="10" id="id_tags">\nbilling</textarea>' in html


def test_it_shows_a_datetime_default_in_local_time_for_the_browser():
    default = datetime(2024, 1, 31, 13, 30, tzinfo=UTC)
    with timezone.override(PARIS):
        field = schema_for(datetime, default)["value"].form_field()

    assert field.initial == "2024-01-31T14:30:00"


def test_it_gives_the_form_the_same_values_as_validate():
    posted = QueryDict(
        "site_id=7&day=2024-01-31&mode=full&level=2&tags=a%0Ab&options=%7B%22x%22%3A1%7D"
        "&timeout=0%3A05%3A00&since=&price=2.25&at=04%3A15&ratio=1&note=hi"
    )
    form = NIGHTLY.form_class()(posted)

    assert form.is_valid(), form.errors
    assert form.cleaned_data == NIGHTLY.validate(posted)
    assert form.cleaned_data == {
        "site_id": 7,
        "day": date(2024, 1, 31),
        "mode": "full",
        "dry_run": False,
        "level": Level.HIGH,
        "tags": ["a", "b"],
        "options": {"x": 1},
        "timeout": timedelta(minutes=5),
        "since": None,
        "price": Decimal("2.25"),
        "at": time(4, 15),
        "ratio": 1.0,
        "note": "hi",
    }


def test_it_shows_errors_on_the_form():
    posted = QueryDict(
        "site_id=abc&mode=full&level=1&options=[]&timeout=60&price=1&at=03:00&ratio=1"
    )
    form = NIGHTLY.form_class()(posted)

    assert not form.is_valid()
    assert form.errors == {
        "site_id": ["Enter a whole number."],
        "options": ['Enter a JSON object in braces, like {"key": "value"}, not a list.'],
    }


# --- dump / load ---------------------------------------------------------------------------------


def test_it_dumps_values_to_json_and_loads_them_back():
    with timezone.override(PARIS):
        values = NIGHTLY.validate(
            {
                "site_id": "7",
                "day": "2024-01-31",
                "level": 2,
                "options": {"x": [1, None]},
                "timeout": "1 day, 0:00:01.5",
                "since": "2024-01-31T14:30",
                "price": "0.10",
                "at": "23:59:59",
            }
        )
    dumped = NIGHTLY.dump(values)

    assert dumped == {
        "site_id": 7,
        "day": "2024-01-31",
        "mode": "delta",
        "dry_run": True,
        "level": 2,
        "tags": ["billing"],
        "options": {"x": [1, None]},
        "timeout": 86401.5,
        "since": "2024-01-31T14:30:00+01:00",
        "price": "0.10",
        "at": "23:59:59",
        "ratio": 0.5,
        "note": "",
    }
    loaded = NIGHTLY.load(json.loads(json.dumps(dumped)))
    assert {name: typed(value) for name, value in loaded.items()} == {
        name: typed(value) for name, value in values.items()
    }
    assert NIGHTLY.validate(dumped) == values


def test_it_leaves_removed_parameters_out_when_loading():
    assert schema_for(int).load({"value": 1, "removed": 2}) == {"value": 1}


def test_it_is_empty_for_a_workflow_without_parameters():
    def fn():
        pass

    schema = ParameterSchema.from_function(fn, workflow="wf")

    assert (bool(schema), len(schema), list(schema)) == (False, 0, [])
    assert schema.validate({}) == {}
    assert schema.json_schema() == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }
