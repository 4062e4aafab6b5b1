from datetime import timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .roles import Role


def find_user(username_or_email: str):
    """The active user with this username or email (case-insensitive); ValidationError if none.

    The message says what to do, since a colleague who never logged in has no account yet.
    """
    value = username_or_email.strip()
    User = get_user_model()
    by_username = User.objects.filter(username__iexact=value)
    matches = list(by_username[:2]) or list(User.objects.filter(email__iexact=value)[:2])
    if not matches:
        raise forms.ValidationError(
            _(
                "No user has the username or email “%(value)s”. A colleague gets an "
                "account when they first sign in with Google, or when an admin creates it."
            ),
            params={"value": value},
        )
    if len(matches) > 1:
        raise forms.ValidationError(
            _("Several users have the email “%(value)s”: enter the username instead."),
            params={"value": value},
        )
    if not matches[0].is_active:
        raise forms.ValidationError(
            _("The account “%(value)s” is deactivated."), params={"value": value}
        )
    return matches[0]


class GrantRoleForm(forms.Form):
    """Give a role on one workflow to a user (by username or email) or to a group."""

    user = forms.CharField(
        label=_("User"),
        required=False,
        max_length=254,
        help_text=_("Username or email address."),
    )
    group = forms.ModelChoiceField(
        label=_("or group"), queryset=Group.objects.order_by("name"), required=False
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.VIEWER)

    def clean_user(self):
        value = self.cleaned_data["user"].strip()
        return find_user(value) if value else None

    def clean(self):
        cleaned = super().clean()
        if "user" in self.errors:
            return cleaned  # its own message already says what is wrong
        if (cleaned.get("user") is None) == (cleaned.get("group") is None):
            raise forms.ValidationError(_("Enter a user or choose a group (one of the two)."))
        return cleaned


class RevokeAccessForm(forms.Form):
    """Take away the role a user or a group has on one workflow."""

    user = forms.ModelChoiceField(queryset=get_user_model().objects.all(), required=False)
    group = forms.ModelChoiceField(queryset=Group.objects.all(), required=False)

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("user") is None) == (cleaned.get("group") is None):
            raise forms.ValidationError(_("Choose a user or a group to remove."))
        return cleaned


class TokenCreateForm(forms.Form):
    EXPIRY_CHOICES = [
        ("", _("Never")),
        ("7", _("In 7 days")),
        ("30", _("In 30 days")),
        ("90", _("In 90 days")),
        ("365", _("In a year")),
    ]

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, e.g. “nightly CI”."),
    )
    expires_in_days = forms.TypedChoiceField(
        label=_("Expires"),
        choices=EXPIRY_CHOICES,
        coerce=int,
        empty_value=None,
        required=False,
    )

    def expires_at(self):
        days = self.cleaned_data.get("expires_in_days")
        return timezone.now() + timedelta(days=days) if days else None
