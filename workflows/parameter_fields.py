"""Form fields and widgets for workflow parameters.

Each field accepts both an HTML form's strings and JSON values, and refuses a
JSON value of the wrong type with the same plain message a user sees for a
mistyped string. Messages are translated when shown, not when a field is built:
a workflow's form class is built once and serves every language. Every field
refuses text PostgreSQL cannot store (``StorableInput``).
"""

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from .parameter_limits import escaped, quoted, refuse_bad_text

TRUE_WORDS = frozenset({"true", "on", "1", "yes"})
FALSE_WORDS = frozenset({"false", "0", "no"})
BLANK_CHOICE = ("", "---------")


def is_a(value, types: tuple) -> bool:
    """``isinstance`` for user input: ``True`` is an int to Python, never to a user."""
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def _is_true_word(value) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in TRUE_WORDS)


# --- Widgets ------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M:%S")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M:%S")


class CheckboxInput(forms.CheckboxInput):
    """A checkbox that hands its raw value to the field, which is strict about it."""

    def __init__(self, attrs=None):
        super().__init__(attrs, check_test=_is_true_word)

    def value_from_datadict(self, data, files, name):
        # A browser sends nothing at all for an unticked box.
        return data.get(name) if name in data else False

    def use_required_attribute(self, initial):
        # HTML "required" would force the box to be ticked; False is an answer too.
        return False


class NullableBooleanSelect(forms.Select):
    """Yes / No / blank, for ``bool | None``, which a checkbox cannot express."""

    def __init__(self, attrs=None):
        super().__init__(attrs, choices=[BLANK_CHOICE, ("true", _("Yes")), ("false", _("No"))])

    def format_value(self, value):
        if isinstance(value, bool):
            value = "true" if value else "false"
        return super().format_value(value)


# --- Form fields --------------------------------------------------------------------------


class StorableInput:
    """Base of every parameter field: no NUL or lone surrogate gets through, and errors quote short.

    The input is checked before the field reads it (a model field would query the
    database with it) and after (a JSON text's escapes decode into such characters).
    """

    def clean(self, value):
        refuse_bad_text(value)
        try:
            cleaned = super().clean(value)
        except ValidationError as exc:
            raise _quoting_input(exc) from None
        refuse_bad_text(cleaned)
        return cleaned


def _quoting_input(exc: ValidationError) -> ValidationError:
    # Messages such as "“%(value)s” is not a valid choice" echo the input.
    for error in getattr(exc, "error_list", ()):
        if error.params and "value" in error.params:
            error.params = {**error.params, "value": quoted(error.params["value"])}
    return exc


class AcceptsMixin(StorableInput):
    """Refuses a JSON value of the wrong type before Django would ``str()`` it into shape."""

    accepts: tuple = (str,)

    def to_python(self, value):
        if value is not None and not is_a(value, self.accepts):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class TextField(AcceptsMixin, forms.CharField):
    default_error_messages = {"invalid": _("Enter text.")}

    def to_python(self, value):
        # None means "not given", so the default applies; blank text is a value.
        return None if value is None else super().to_python(value)


class IntegerField(AcceptsMixin, forms.IntegerField):
    accepts = (str, int, float, Decimal)


class LocalDecimalMixin:
    """Typed as the language writes decimals: "2,5" in French, "2.5" in English.

    A text box (``inputmode="decimal"`` brings the phone's number pad), since a
    number box refuses a comma in some browsers. JSON numbers are unchanged.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("localize", True)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "decimal")

    def to_python(self, value):
        if isinstance(value, str):
            # Digits grouped by spaces, as French writes them ("2 500,75"): not separators.
            value = value.strip()
            for space in (" ", "\xa0", "\u202f"):
                value = value.replace(space, "")
        return super().to_python(value)


class FloatField(AcceptsMixin, LocalDecimalMixin, forms.FloatField):
    accepts = (str, int, float, Decimal)


class DecimalField(AcceptsMixin, LocalDecimalMixin, forms.DecimalField):
    accepts = (str, int, float, Decimal)


class DateField(AcceptsMixin, forms.DateField):
    accepts = (str, date)
    widget = DateInput
    input_formats = ["%Y-%m-%d"]
    default_error_messages = {"invalid": _("Enter a valid date, like 2024-01-31.")}


class DateTimeField(AcceptsMixin, forms.DateTimeField):
    """ISO 8601 only; a naive value is read in the current Django time zone."""

    accepts = (str, datetime)
    widget = DateTimeInput
    input_formats = ()  # beyond ISO 8601, which DateTimeField always tries first
    default_error_messages = {"invalid": _("Enter a valid date and time, like 2024-01-31 14:30.")}


class TimeField(AcceptsMixin, forms.TimeField):
    accepts = (str, time)
    widget = TimeInput
    input_formats = ["%H:%M:%S", "%H:%M:%S.%f", "%H:%M"]
    default_error_messages = {"invalid": _("Enter a valid time, like 14:30.")}


class DurationField(AcceptsMixin, forms.DurationField):
    accepts = (str, int, float, timedelta)
    default_error_messages = {
        "invalid": _(
            "Enter a duration, like 1:30:00 for an hour and a half, "
            "2 days, 0:00:00, or a number of seconds."
        )
    }


class BooleanField(StorableInput, forms.Field):
    """true/false, yes/no, on, 1/0, and nothing else: a typo must not mean True."""

    widget = CheckboxInput
    default_error_messages = {"invalid": _("Enter true or false.")}

    def to_python(self, value):
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        word = value.strip().lower() if isinstance(value, str) else None
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class ChoiceField(StorableInput, forms.TypedChoiceField):
    """A Select whose cleaned value is the Literal value or the Enum member."""

    def __init__(self, *, values: dict, **kwargs):
        by_text = {str(key): value for key, value in values.items()}
        super().__init__(coerce=lambda text: by_text[text], empty_value=None, **kwargs)

    def to_python(self, value):
        if isinstance(value, Enum):
            value = value.value
        if value is not None and not is_a(value, (str, int)):
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return super().to_python(value)


class TextListField(StorableInput, forms.Field):
    """A JSON list of strings, or text with one item per line (a textarea)."""

    widget = forms.Textarea
    default_error_messages = {
        "invalid": _("Enter a list of text items, one per line."),
        "item": _("Enter a list of text items: item %(position)s is not text."),
    }

    def __init__(self, *, empty_value, **kwargs):
        self.empty_value = empty_value
        super().__init__(**kwargs)

    def to_python(self, value):
        if value is None:
            return None
        if isinstance(value, str):
            items = [line.strip() for line in value.splitlines() if line.strip()]
            return items or self.empty_value
        if not isinstance(value, list | tuple):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        for position, item in enumerate(value, start=1):
            if not isinstance(item, str):
                raise ValidationError(
                    self.error_messages["item"], code="item", params={"position": position}
                )
        return list(value)


def _invalid_row_message(model) -> str:
    # Translated when shown; "%(value)s" is left for Django to fill in.
    message = gettext(
        "Select a valid %(name)s: “%(value)s” does not exist or cannot be chosen here."
    )
    name = str(model._meta.verbose_name).replace("%", "%%")
    return message % {"name": name, "value": "%(value)s"}


def _what_json_is(value) -> str:
    # Completes "Enter a JSON object in braces, like {...}, not %(what)s."
    if isinstance(value, bool):
        return pgettext("a JSON value that is not an object", "true or false")
    if isinstance(value, int | float):
        return pgettext("a JSON value that is not an object", "a number")
    if isinstance(value, str):
        return pgettext("a JSON value that is not an object", "text")
    if isinstance(value, list):
        return pgettext("a JSON value that is not an object", "a list")
    return "null"


class JSONObjectField(StorableInput, forms.Field):
    """A JSON object, given as one or as text (a textarea)."""

    widget = forms.Textarea
    default_error_messages = {
        "invalid": _("Enter a valid JSON object: %(problem)s."),
        "not_object": _('Enter a JSON object in braces, like {"key": "value"}, not %(what)s.'),
        "not_json": _("This value cannot be stored as JSON: %(problem)s."),
    }

    def to_python(self, value):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            value = self._parse(value)
        if not isinstance(value, dict):
            raise ValidationError(
                self.error_messages["not_object"],
                code="not_object",
                params={"what": _what_json_is(value)},
            )
        return value

    def _parse(self, text: str):
        try:
            return json.loads(text, parse_constant=self._refuse_constant)
        except json.JSONDecodeError as exc:
            # exc.msg is Python's own words ("Expecting value"), in English.
            problem = gettext("%(problem)s at line %(line)s, column %(column)s") % {
                "problem": exc.msg,
                "line": exc.lineno,
                "column": exc.colno,
            }
            raise ValidationError(
                self.error_messages["invalid"], code="invalid", params={"problem": problem}
            ) from None

    def _refuse_constant(self, name: str):
        # Python's json reads NaN and Infinity, which are not JSON.
        raise ValidationError(
            self.error_messages["invalid"],
            code="invalid",
            params={"problem": gettext("%(name)s is not a JSON value") % {"name": name}},
        )

    def validate(self, value):
        # Unlike Django's fields, {} is an answer here; only "nothing" is missing.
        if value is None and self.required:
            raise ValidationError(self.error_messages["required"], code="required")
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                self.error_messages["not_json"], code="not_json", params={"problem": exc}
            ) from None


class ModelPkField(StorableInput, forms.ModelChoiceField):
    """A row of a model (or of a narrowed QuerySet); cleans to the row's primary key."""

    def __init__(self, queryset, **kwargs):
        message = lazy(_invalid_row_message, str)(queryset.model)
        super().__init__(queryset, error_messages={"invalid_choice": message}, **kwargs)

    def to_python(self, value):
        # Django would read True or 1.5 as the row with pk 1.
        if value is not None and not is_a(value, (str, int, self.queryset.model)):
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return super().to_python(value)

    def clean(self, value):
        row = super().clean(value)
        return None if row is None else row.pk


class StorableJSONField(forms.JSONField):
    """Django's JSON text area (a schedule's parameters in the admin), for PostgreSQL.

    It refuses text PostgreSQL cannot store, and shows a lone surrogate back as an
    escape: Django would write the character itself, which no page can encode.
    """

    def prepare_value(self, value):
        return escaped(super().prepare_value(value))

    def validate(self, value):
        super().validate(value)
        refuse_bad_text(value)
