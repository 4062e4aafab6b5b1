"""How allauth signs people in to Baton.

- Local (username/password) accounts are created by admins: sign-up is closed.
- Anyone with a Google account whose *verified* email is in
  BATON_ALLOWED_EMAIL_DOMAINS (or anyone, when it is empty) gets an account on
  first login, with no rights at all until someone gives them a role.
- A Google login whose verified email belongs to an existing user logs in as
  that user (SOCIALACCOUNT_EMAIL_AUTHENTICATION) and connects the two.
"""

import re

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audit.recorder import Verb, record_event


def allowed_email_domains() -> list[str]:
    """The email domains allowed to log in with Google, lower case; empty means any."""
    return [domain.strip().lower().lstrip("@") for domain in settings.BATON_ALLOWED_EMAIL_DOMAINS]


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


class ProviderNotConfigured(SocialApp.DoesNotExist, Http404):
    """No client id for this provider: allauth's callers still see DoesNotExist, visitors a 404."""


def lockout_words() -> str:
    """How long a login stays blocked after too many failures, from ACCOUNT_RATE_LIMITS."""
    rule = settings.ACCOUNT_RATE_LIMITS.get("login_failed", "")
    found = re.search(r"(\d+)/(\d+)?([smhd])/key", rule)
    if not found:
        return _("Too many failed login attempts. Try again later.")
    seconds = int(found.group(2) or 1) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[found.group(3)]
    minutes = max(1, round(seconds / 60))
    return ngettext(
        "Too many failed login attempts: this login is blocked for up to %(count)s minute. "
        "Try again after that, or ask an admin to reset your password.",
        "Too many failed login attempts: this login is blocked for up to %(count)s minutes. "
        "Try again after that, or ask an admin to reset your password.",
        minutes,
    ) % {"count": minutes}


class AccountAdapter(DefaultAccountAdapter):
    def __init__(self, request=None):
        super().__init__(request)
        # Built per request (allauth makes an adapter each time), in the reader's language.
        self.error_messages = {**self.error_messages, "too_many_login_attempts": lockout_words()}

    def is_open_for_signup(self, request) -> bool:
        """Local accounts are made by admins; Google accounts by SocialAccountAdapter."""
        return False


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:
        # pre_social_login already refused everyone outside the allowed domains.
        return True

    def get_app(self, request, provider, client_id=None):
        """The provider's app; a 404 (not a server error) when it is not configured."""
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            raise ProviderNotConfigured(f"Sign-in with {provider} is not set up.") from None

    def authenticate_by_email(self, sociallogin):
        """allauth's match by verified email, and then the same ignoring case.

        allauth compares with the case Google gives (lower), but users created in
        the admin keep the case an admin typed ("Bob@example.com"): without this,
        their first Google login would create a second, rightless account.
        """
        found = super().authenticate_by_email(sociallogin)
        if found:
            return found
        verified = [address.email for address in sociallogin.email_addresses if address.verified]
        for email in verified:
            if not self.can_authenticate_by_email(sociallogin, email):
                continue
            users = list(get_user_model().objects.filter(email__iexact=email)[:2])
            if len(users) == 1:  # several: ambiguous, let allauth's sign-up flow decide
                return users[0], email
        return None

    def pre_social_login(self, request, sociallogin) -> None:
        """Refuse, with a page saying why, a login whose verified email is not allowed.

        Google's ``hd`` parameter only pre-selects the domain on Google's page;
        anyone can remove it, so the check happens here, on the server.
        """
        domains = allowed_email_domains()
        if not domains:
            return
        addresses = sociallogin.email_addresses
        verified = [address.email for address in addresses if address.verified]
        if any(email_domain(email) in domains for email in verified):
            return
        context = {
            "email": (verified or [address.email for address in addresses] or [""])[0],
            "email_is_verified": bool(verified),
            "allowed_domains": domains,
            "provider": sociallogin.provider,
        }
        _record_refusal(request, context)
        raise ImmediateHttpResponse(
            render(request, "socialaccount/domain_refused.html", context, status=403)
        )


def _record_refusal(request, context: dict) -> None:
    """The refused login goes to the audit trail, under the address the provider gave."""
    record_event(
        verb=Verb.LOGIN_REFUSED,
        actor_label=context["email"] or "?",
        request=request,
        details={
            "provider": context["provider"].id,
            "email": context["email"],
            "email_is_verified": context["email_is_verified"],
            "allowed_domains": context["allowed_domains"],
        },
    )
