"""A workflow's signature as its parameter schema: JSON Schema, Django form and validator.

    @workflow
    def nightly_export(
        site: Annotated[Site, "Site to export", Site.objects.filter(active=True)],
        day: date | None = None,
        mode: Literal["full", "delta"] = "delta",
        top_n: Annotated[int, Range(1, 100)] = 10,
        dry_run: bool = True,
    ): ...

One validator serves the run form, the REST API and schedules:
``ParameterSchema.validate`` binds the very form class the run page renders, so
a value is parsed the same way wherever it comes from, and a bad value becomes a
field error in plain words, in the user's language, never a traceback. What
differs per kind of parameter (field, widget, JSON) lives in
``workflows.parameter_kinds``; bounds and what the database can store, in
``workflows.parameter_limits``.

A key left out of JSON takes the default; a cleared form field or an explicit
``null`` never does (the user would not see the default used): it is None for an
``X | None`` parameter and "This field is required." for any other.
"""

import copy
import inspect
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.utils import pretty_name
from django.http import QueryDict
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .errors import DefinitionError, ParameterErrors
from .parameter_fields import is_a
from .parameter_kinds import KINDS
from .parameter_limits import SAFE_INTEGERS, Range, quoted

UNKNOWN_PARAMETER = _("Unknown parameter: this workflow has no parameter named '%(name)s'.")
REQUIRED = forms.Field.default_error_messages["required"]  # lazy: translated when shown
SUPPORTED = (
    "str, int, float, Decimal, bool, date, datetime, time, timedelta, Literal[...], "
    "an Enum, list[str], dict, a Django model, each optionally '| None'"
)
_NUMBERS = (int, float, Decimal)
_SIMPLE_HINTS = {
    str: "str",
    int: "int",
    float: "float",
    Decimal: "decimal",
    bool: "bool",
    date: "date",
    datetime: "datetime",
    time: "time",
    timedelta: "timedelta",
    dict: "json",
}


class _Missing:
    def __repr__(self):
        return "MISSING"

    def __bool__(self):
        return False


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Parameter:
    """One parameter of a workflow, read from one argument of its function."""

    name: str
    kind: str
    label: str
    help_text: str = ""
    required: bool = True
    nullable: bool = False
    default: Any = MISSING
    choices: tuple = ()  # (JSON value, label) pairs, for Literal and Enum
    enum: type[Enum] | None = None
    model: type[models.Model] | None = None
    queryset: models.QuerySet | None = field(default=None, compare=False)
    range: Range | None = None  # declared in Annotated, for the number kinds

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING

    @property
    def blank_is_a_value(self) -> bool:
        """Whether a blank form field is a value: "" text, an empty list, an unticked box.

        For the other kinds blank is "no value", which only ``X | None`` accepts,
        default or not (``ParameterForm.clean``).
        """
        return KINDS[self.kind].blank_is_a_value

    def form_field(self) -> forms.Field:
        """A fresh Django form field that parses this parameter from form or JSON input.

        Marked required only without a default: a pre-filled field needs no typing,
        though clearing it is refused too (``ParameterForm.clean``).
        """
        return KINDS[self.kind].form_field(
            self,
            label=self.label,
            help_text=self.help_text,
            required=self.required,
            initial=self.initial(),
        )

    def initial(self):
        """The default as the form shows it (dumped for display), or None."""
        if self.default is MISSING or self.default is None:
            return None
        return KINDS[self.kind].display(self, self.default)

    def json_schema(self) -> dict:
        """The JSON Schema of this parameter's JSON value."""
        schema = {"title": str(self.label), **KINDS[self.kind].json_schema(self)}
        if self.nullable:
            _allow_null(schema)
        if self.help_text:
            schema["description"] = str(self.help_text)
        if self.has_default:
            schema["default"] = self.dump(self.default)
        return schema

    def dump(self, value):
        """The Python value as JSON (what the database stores)."""
        return None if value is None else KINDS[self.kind].dump(self, value)

    def load(self, value):
        """The Python value back from its JSON (what tasks receive)."""
        return None if value is None else KINDS[self.kind].load(self, value)

    def describe_type(self) -> str:
        """Short words for the UI: "whole number", "date", "one of: full, delta"..."""
        return KINDS[self.kind].describe(self)


def _allow_null(schema: dict) -> None:
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    schema["type"] = [*kinds, "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]


class ParameterForm(forms.Form):
    """Base of every workflow's run form: ``cleaned_data`` holds typed values.

    The class attribute ``parameter_schema`` is set by ``ParameterSchema.form_class``.
    ``from_form`` (default: the data is a QueryDict) reads an absent field as a blank one.
    """

    parameter_schema: "ParameterSchema"

    def __init__(self, *args, from_form: bool | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.from_form = isinstance(self.data, QueryDict) if from_form is None else from_form

    def clean(self):
        cleaned = super().clean()
        for parameter in self.parameter_schema:
            name = parameter.name
            if cleaned.get(name, MISSING) is not None or parameter.nullable:
                continue
            if self.from_form and name not in self.data and parameter.blank_is_a_value:
                # A browser sends every text field; a script posting the form may not.
                cleaned[name] = self.fields[name].clean("")
            else:  # null, or a blank field of a kind for which blank is no value
                self.add_error(name, forms.ValidationError(REQUIRED, code="required"))
        return cleaned


class ParameterSchema:
    """The parameters of a workflow, in signature order."""

    def __init__(self, parameters: list[Parameter], *, workflow: str = ""):
        self.parameters = list(parameters)
        self.workflow = workflow
        self._by_name = {parameter.name: parameter for parameter in self.parameters}
        self._form_class = None

    @classmethod
    def from_function(
        cls, fn, *, workflow: str, file: str | None = None, line: int | None = None
    ) -> "ParameterSchema":
        """Read ``fn``'s signature; raise ``DefinitionError`` for a parameter Baton cannot offer.

        That is: a missing or unsupported type hint, ``*args``/``**kwargs`` or a
        positional-only parameter, and a default that is not valid for its own type
        or cannot be stored as JSON.
        """
        code = getattr(fn, "__code__", None)
        file = file or (code and code.co_filename)
        line = line or (code and code.co_firstlineno)
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except (NameError, TypeError, SyntaxError) as exc:
            raise DefinitionError(
                f"its type hints cannot be read: {exc}", workflow=workflow, file=file, line=line
            ) from exc
        parameters = []
        for argument in inspect.signature(fn).parameters.values():
            try:
                parameters.append(_read_parameter(argument, hints.get(argument.name, MISSING)))
            except _Invalid as exc:
                reason = f"parameter '{_shown_name(argument)}' {exc}"
                raise DefinitionError(reason, workflow=workflow, file=file, line=line) from None
        return cls(parameters, workflow=workflow)

    def __iter__(self):
        return iter(self.parameters)

    def __len__(self):
        return len(self.parameters)

    def __bool__(self):
        return bool(self.parameters)

    def __getitem__(self, name: str) -> Parameter:
        return self._by_name[name]

    def __repr__(self):
        return f"<ParameterSchema {self.workflow!r}: {', '.join(self._by_name)}>"

    def json_schema(self) -> dict:
        """The JSON Schema of the ``parameters`` object the API accepts."""
        return {
            "type": "object",
            "properties": {parameter.name: parameter.json_schema() for parameter in self},
            "required": [parameter.name for parameter in self if parameter.required],
            "additionalProperties": False,
        }

    def form_class(self) -> type[ParameterForm]:
        """The run form: one field per parameter in signature order, defaults as initial."""
        if self._form_class is None:
            fields = {parameter.name: parameter.form_field() for parameter in self}
            name = self.workflow.title().replace("_", "") + "ParametersForm"
            self._form_class = type(name, (ParameterForm,), fields)
            # Set after creation: a parameter may itself be named "parameter_schema".
            self._form_class.parameter_schema = self
        return self._form_class

    def validate(self, data: Mapping, *, from_form: bool | None = None) -> dict:
        """Typed values for every parameter, defaults filled; or raise ``ParameterErrors``.

        ``data`` comes from JSON (the API, schedules, "run again") or from an HTML
        form; ``from_form`` defaults to "``data`` is a QueryDict". In a form, an
        absent checkbox is False, an absent field is blank, and keys that are not
        parameters (the CSRF token) are ignored. From JSON, an absent key takes
        the default, ``null`` is None (an ``X | None`` parameter) or an error, and an
        unknown key is an error.
        """
        if from_form is None:
            from_form = isinstance(data, QueryDict)
        form = self.form_class()(data, from_form=from_form)
        values, errors = ({}, {}) if from_form else self._absent_from_json(form, data)
        if not form.is_valid():
            for name, problems in form.errors.as_data().items():
                errors[name] = [message for problem in problems for message in problem]
        errors = {p.name: errors[p.name] for p in self if p.name in errors}
        if not from_form:
            for key in self._unknown(data):
                errors[quoted(key)] = [UNKNOWN_PARAMETER % {"name": quoted(key)}]
        if errors:
            raise ParameterErrors(errors)
        values.update(form.cleaned_data)
        return {parameter.name: values[parameter.name] for parameter in self}

    def _absent_from_json(self, form, data: Mapping) -> tuple[dict, dict]:
        # The form would read an absent key as a blank input or an unticked box;
        # from JSON it means "not given", so the field steps aside.
        values, errors = {}, {}
        for parameter in self:
            if parameter.name in data:
                continue
            del form.fields[parameter.name]
            if parameter.has_default:
                values[parameter.name] = copy.deepcopy(parameter.default)
            elif parameter.nullable:
                values[parameter.name] = None
            else:
                errors[parameter.name] = [str(REQUIRED)]
        return values, errors

    def _unknown(self, data: Mapping) -> list[str]:
        return [key for key in data if key not in self._by_name]

    def dump(self, values: dict) -> dict:
        """Validated values as a JSON-able dict."""
        return {p.name: p.dump(values[p.name]) for p in self if p.name in values}

    def load(self, data: dict) -> dict:
        """Python values back from ``dump``'s JSON; keys that are no parameter are left out."""
        return {p.name: p.load(data[p.name]) for p in self if p.name in data}


# --- Reading a signature --------------------------------------------------------------------


class _Invalid(Exception):
    """Why one parameter cannot be offered; ``from_function`` adds where it is."""


def _shown_name(argument: inspect.Parameter) -> str:
    stars = {argument.VAR_POSITIONAL: "*", argument.VAR_KEYWORD: "**"}
    return stars.get(argument.kind, "") + argument.name


def _read_parameter(argument: inspect.Parameter, hint) -> Parameter:
    if argument.kind in (argument.VAR_POSITIONAL, argument.VAR_KEYWORD):
        raise _Invalid("is not allowed: a workflow takes named parameters only")
    if argument.kind is argument.POSITIONAL_ONLY:
        raise _Invalid("is positional-only: a workflow's parameters are passed by name")
    if hint is MISSING:
        raise _Invalid(f"has no type hint: add one, e.g. '{argument.name}: int'")
    base, nullable, metadata = _unwrap(hint)
    details = _kind_of(base)
    queryset = next((item for item in metadata if isinstance(item, models.QuerySet)), None)
    _check_queryset(queryset, details.get("model"))
    bounds = next((item for item in metadata if isinstance(item, Range)), None)
    _check_range(bounds, details["kind"])
    default = MISSING if argument.default is argument.empty else argument.default
    parameter = Parameter(
        name=argument.name,
        label=next((item.text for item in metadata if isinstance(item, Label)), None)
        or pretty_name(argument.name),
        # A lazy translation (gettext_lazy) is kept as it is: shown in the reader's language.
        help_text=next((item for item in metadata if isinstance(item, str | Promise)), ""),
        required=default is MISSING and not nullable,
        nullable=nullable,
        queryset=queryset,
        range=bounds,
        **details,
    )
    if default is MISSING:
        return parameter
    return replace(parameter, default=_checked_default(parameter, default, base))


def _unwrap(hint) -> tuple[Any, bool, tuple]:
    """``Annotated[X | None, ...]`` or ``Annotated[X, ...] | None`` -> (X, nullable, metadata)."""
    metadata, nullable = (), False
    if get_origin(hint) is Annotated:
        metadata, hint = hint.__metadata__, hint.__origin__
    if get_origin(hint) in (Union, types.UnionType):
        others = [arg for arg in get_args(hint) if arg is not types.NoneType]
        if len(others) != 1 or len(others) == len(get_args(hint)):
            raise _Invalid(
                f"has an unsupported type hint '{_hint_name(hint)}': a parameter has one type, "
                "optionally '| None'"
            )
        hint, nullable = others[0], True
    if get_origin(hint) is Annotated:
        metadata, hint = metadata + hint.__metadata__, hint.__origin__
    return hint, nullable, metadata


def _kind_of(hint) -> dict:
    """The ``Parameter`` fields that follow from a type hint: kind, choices, enum, model."""
    for simple, kind in _SIMPLE_HINTS.items():
        if hint is simple:
            return {"kind": kind}
    origin, args = get_origin(hint), get_args(hint)
    if origin is Literal:
        return {"kind": "choice", "choices": _choices([(value, str(value)) for value in args])}
    if origin is list and args == (str,):
        return {"kind": "list"}
    if origin is dict and args == (str, Any):
        return {"kind": "json"}
    if origin is None and isinstance(hint, type) and issubclass(hint, Enum):
        pairs = [(member.value, _enum_label(member)) for member in hint]
        return {"kind": "choice", "choices": _choices(pairs), "enum": hint}
    if origin is None and isinstance(hint, type) and issubclass(hint, models.Model):
        return {"kind": "model", "model": hint}
    raise _Invalid(f"has an unsupported type hint '{_hint_name(hint)}'; use {SUPPORTED}")


def _choices(pairs: list[tuple]) -> tuple:
    seen = set()
    for value, _label in pairs:
        if not is_a(value, (str, int)):
            raise _Invalid(f"has a choice {value!r} that is neither text nor a whole number")
        if str(value) in seen:
            raise _Invalid(f"has two choices that read the same: {value!r}")
        seen.add(str(value))
    return tuple(pairs)


def _enum_label(member: Enum) -> str:
    # Django's TextChoices/IntegerChoices carry a label (kept lazy when it is a
    # translation, so the form shows it in the reader's language); a plain Enum has its name.
    label = getattr(member, "label", None)
    if isinstance(label, Promise):
        return label
    return str(label or pretty_name(member.name.lower()))


@dataclass(frozen=True)
class Label:
    """A parameter's label in its form, instead of one made from its name::

        region: Annotated[str, Label(_("Sales region")), _("Where the shops are")]

    Give it (and the help text) with ``gettext_lazy`` to have it translated.
    """

    text: str


def _check_queryset(queryset, model) -> None:
    if queryset is None:
        return
    if model is None:
        raise _Invalid("has a QuerySet in Annotated, which only narrows a Django model parameter")
    if not issubclass(queryset.model, model):
        raise _Invalid(
            f"has a QuerySet of {queryset.model.__name__} rows for a {model.__name__} parameter"
        )


def _check_range(bounds: Range | None, kind: str) -> None:
    if bounds is None:
        return
    if not KINDS[kind].accepts_range:
        raise _Invalid("has a Range in Annotated, which bounds int, float and Decimal parameters")
    ends = [end for end in (bounds.min, bounds.max) if end is not None]
    if not ends or not all(is_a(end, _NUMBERS) and Decimal(end).is_finite() for end in ends):
        raise _Invalid(f"has {bounds!r}: give a number as min, max or both")
    if len(ends) == 2 and bounds.min > bounds.max:
        raise _Invalid(f"has {bounds!r}, whose min is above its max")
    if kind == "int" and not all(SAFE_INTEGERS.contains(end) for end in ends):
        raise _Invalid(
            f"has {bounds!r} beyond ±{SAFE_INTEGERS.max}, the whole numbers JSON carries exactly"
        )


def _checked_default(parameter: Parameter, default, hint):
    """The default as a clean value of its own type, or ``_Invalid``."""
    if default is None:
        if parameter.nullable:
            return None
        shown = _hint_name(hint)
        raise _Invalid(
            f"defaults to None but its type hint does not allow None: write '{shown} | None'"
        )
    if parameter.kind == "model":
        # No database at import time: whether the row exists is checked when a run is validated.
        if isinstance(default, parameter.model):
            return default.pk
        if not is_a(default, (str, int)):
            raise _Invalid(
                f"has a default {default!r} that is not a primary key of {parameter.model.__name__}"
            )
        return default
    # The field of a parameter with a default, without the initial value, which shows
    # a default before it is known to be valid.
    field = KINDS[parameter.kind].form_field(parameter, required=False)
    # A DefinitionError is for developers: in English, whatever the request's language.
    with translation.override("en"):
        try:
            value = field.clean(default)
            if value is None:  # e.g. "" for a number: blank, as a cleared field would be
                raise ValidationError(REQUIRED)
        except ValidationError as exc:
            raise _Invalid(
                f"has a default {default!r} that is not valid: {' '.join(exc.messages)}"
            ) from None
    return value


def _hint_name(hint) -> str:
    if isinstance(hint, type) and not get_args(hint):
        return hint.__name__
    return repr(hint).replace("typing.", "")
