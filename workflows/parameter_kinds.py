"""What differs per kind of workflow parameter: form field, JSON Schema, JSON form.

``workflows.parameters`` reads a signature into ``Parameter`` objects and asks
``KINDS[parameter.kind]`` for the rest; the form fields are in
``workflows.parameter_fields``.
"""

import copy
import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum

from django import forms
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .parameter_fields import (
    BLANK_CHOICE,
    BooleanField,
    ChoiceField,
    DateField,
    DateTimeField,
    DecimalField,
    DurationField,
    FloatField,
    IntegerField,
    JSONObjectField,
    ModelPkField,
    NullableBooleanSelect,
    TextField,
    TextListField,
    TimeField,
)
from .parameter_limits import SAFE_INTEGERS, Range, check_decimal_fits

# --- Kinds --------------------------------------------------------------------------------


class Kind:
    """One kind of parameter; ``options`` are label, help_text, required and initial.

    ``words`` are lazy, like every message of a form field: translated when shown.
    """

    words = ""
    schema: dict = {}
    # Whether a blank input is a value of its own ("" text, an empty list, an unticked
    # box), so a field with a default may be left blank; other kinds read blank as "no value".
    blank_is_a_value = False
    # The number kinds: a declared ``Range`` narrows the value.
    accepts_range = False

    def form_field(self, parameter, **options) -> forms.Field:
        raise NotImplementedError

    def json_schema(self, parameter) -> dict:
        return copy.deepcopy(self.schema)

    def describe(self, parameter) -> str:
        return str(self.words)

    def dump(self, parameter, value):
        return value

    def load(self, parameter, value):
        return value

    def display(self, parameter, value):
        """The value as the form shows it before anyone types."""
        return self.dump(parameter, value)


class SimpleKind(Kind):
    """A kind whose field takes no per-parameter settings."""

    def __init__(self, words, schema, field_class, *, dump=None, load=None, display=None):
        self.words, self.schema, self.field_class = words, schema, field_class
        self._dump, self._load, self._display = dump, load, display

    def form_field(self, parameter, **options):
        return self.field_class(**options)

    def dump(self, parameter, value):
        return self._dump(value) if self._dump else value

    def load(self, parameter, value):
        return self._load(value) if self._load else value

    def display(self, parameter, value):
        return self._display(value) if self._display else self.dump(parameter, value)


class NumberKind(SimpleKind):
    """int, float, Decimal: bounded by a declared ``Range`` and by what ``limit`` allows."""

    accepts_range = True

    def __init__(self, *args, limit: Range | None = None, validators=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.limit, self.validators = limit, list(validators)

    def bounds(self, parameter) -> Range | None:
        """The declared range within ``limit`` (a side not declared takes the limit's)."""
        declared, limit = parameter.range, self.limit
        if declared is None or limit is None:
            return declared or limit
        low = limit.min if declared.min is None else declared.min
        high = limit.max if declared.max is None else declared.max
        return Range(low, high)

    def form_field(self, parameter, **options):
        bounds = self.bounds(parameter)
        validators = [*self.validators, *([bounds] if bounds else [])]
        field = self.field_class(validators=validators, **options)
        if bounds:
            for attribute, value in (("min", bounds.min), ("max", bounds.max)):
                if value is not None:
                    field.widget.attrs[attribute] = str(value)
        return field

    def json_schema(self, parameter):
        schema = super().json_schema(parameter)
        bounds = self.bounds(parameter)
        if bounds and schema["type"] in ("integer", "number"):
            for keyword, value in (("minimum", bounds.min), ("maximum", bounds.max)):
                if value is not None:  # a Decimal bound is no JSON number: as a float
                    schema[keyword] = value if isinstance(value, int | float) else float(value)
        return schema


class TextKind(Kind):
    words = _("text")
    schema = {"type": "string"}
    blank_is_a_value = True

    def form_field(self, parameter, **options):
        return TextField(empty_value=None if parameter.nullable else "", **options)


class BooleanKind(Kind):
    words = _("yes or no")
    schema = {"type": "boolean"}
    blank_is_a_value = True

    def form_field(self, parameter, **options):
        if parameter.nullable:
            return BooleanField(widget=NullableBooleanSelect, **options)
        return BooleanField(**options)

    def dump(self, parameter, value):
        return bool(value)


class ChoiceKind(Kind):
    """Literal values or Enum members; ``parameter.choices`` holds (JSON value, label)."""

    def form_field(self, parameter, **options):
        values = {key: self.load(parameter, key) for key, _label in parameter.choices}
        listed = ", ".join(str(key) for key in values)
        choices = list(parameter.choices)
        if parameter.nullable or not parameter.has_default:
            choices.insert(0, BLANK_CHOICE)  # nothing chosen until the user chooses
        return ChoiceField(
            values=values,
            choices=choices,
            error_messages={"invalid_choice": lazy(_invalid_choice_message, str)(listed)},
            **options,
        )

    def json_schema(self, parameter):
        keys = [key for key, _label in parameter.choices]
        types = sorted({"string" if isinstance(key, str) else "integer" for key in keys})
        return {"type": types[0] if len(types) == 1 else types, "enum": keys}

    def describe(self, parameter):
        listed = ", ".join(str(key) for key, _label in parameter.choices)
        return gettext("one of: %(choices)s") % {"choices": listed}

    def dump(self, parameter, value):
        return value.value if isinstance(value, Enum) else value

    def load(self, parameter, value):
        return parameter.enum(value) if parameter.enum else value


def _invalid_choice_message(listed: str) -> str:
    # Translated when shown; "%(value)s" is left for Django to fill in.
    message = gettext("“%(value)s” is not a valid choice. Choose one of: %(choices)s.")
    return message % {"value": "%(value)s", "choices": listed.replace("%", "%%")}


class TextListKind(Kind):
    words = _("list of text, one item per line")
    schema = {"type": "array", "items": {"type": "string"}}
    blank_is_a_value = True

    def form_field(self, parameter, **options):
        return TextListField(empty_value=None if parameter.nullable else [], **options)

    def dump(self, parameter, value):
        return list(value)

    def load(self, parameter, value):
        return list(value)

    def display(self, parameter, value):
        return "\n".join(value)


class ModelKind(Kind):
    def form_field(self, parameter, **options):
        queryset = parameter.queryset
        if queryset is None:
            queryset = parameter.model._default_manager.all()
        return ModelPkField(queryset, **options)

    def json_schema(self, parameter):
        meta = parameter.model._meta
        return {"type": ["integer", "string"], "x-model": f"{meta.app_label}.{meta.object_name}"}

    def describe(self, parameter):
        return str(parameter.model._meta.verbose_name)

    def dump(self, parameter, value):
        return value.pk if isinstance(value, parameter.model) else value


def _seconds(value: timedelta) -> int | float:
    seconds = value.total_seconds()
    return int(seconds) if seconds.is_integer() else seconds


def _aware_iso(value: datetime) -> str:
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value.isoformat()


def _local_iso(value: datetime) -> str:
    """What ``<input type="datetime-local">`` expects: local wall-clock time, no offset."""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.replace(tzinfo=None).isoformat(timespec="seconds")


KINDS: dict[str, Kind] = {
    "str": TextKind(),
    "int": NumberKind(
        _("whole number"), {"type": "integer"}, IntegerField, dump=int, limit=SAFE_INTEGERS
    ),
    "float": NumberKind(_("number"), {"type": "number"}, FloatField, dump=float),
    # A string in JSON, so no JSON Schema minimum/maximum: the form and validator check them.
    "decimal": NumberKind(
        _("decimal number"),
        {"type": "string", "format": "decimal"},
        DecimalField,
        dump=str,
        load=Decimal,
        validators=[check_decimal_fits],
    ),
    "bool": BooleanKind(),
    "date": SimpleKind(
        _("date"),
        {"type": "string", "format": "date"},
        DateField,
        dump=date.isoformat,
        load=date.fromisoformat,
    ),
    "datetime": SimpleKind(
        _("date and time"),
        {"type": "string", "format": "date-time"},
        DateTimeField,
        dump=_aware_iso,
        load=datetime.fromisoformat,
        display=_local_iso,
    ),
    "time": SimpleKind(
        _("time of day"),
        {"type": "string", "format": "time"},
        TimeField,
        dump=time.isoformat,
        load=time.fromisoformat,
    ),
    # Stored as seconds; accepted as seconds or as text ("1:30:00", "P1DT2H").
    "timedelta": SimpleKind(
        _("duration"),
        {"type": ["number", "string"], "format": "duration"},
        DurationField,
        dump=_seconds,
        load=lambda seconds: timedelta(seconds=seconds),
        display=str,
    ),
    "choice": ChoiceKind(),
    "list": TextListKind(),
    "json": SimpleKind(
        _("JSON object"),
        {"type": "object"},
        JSONObjectField,
        display=lambda value: json.dumps(value, indent=2),
    ),
    "model": ModelKind(),
}
