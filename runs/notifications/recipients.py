"""Who the people behind a rule are, and which language each of them reads."""

from django.conf import settings
from django.contrib.auth import get_user_model
from guardian.shortcuts import get_users_with_perms

from accounts.permissions import NEEDS
from workflows.models import Workflow

from .models import RecipientLanguage

MANAGE = NEEDS["manage"]
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"  # the rights held on all workflows
# The run form's "Notify me when it ends" box: not a Python name, so no parameter's.
NOTIFY_ME = "notify-me"


def owners_of(workflow: Workflow) -> list:
    """Active users with an e-mail who may manage ``workflow``: on it, or on every workflow.

    Superusers are left out unless they hold the right themselves: an admin of
    the whole site is not the owner of each workflow.
    """
    on_it = get_users_with_perms(
        workflow,
        only_with_perms_in=[MANAGE],
        with_group_users=True,
        with_superusers=False,
    )
    on_all = get_user_model().objects.with_perm(
        f"workflows.{MANAGE}", include_superusers=False, backend=MODEL_BACKEND
    )
    users = {user.pk: user for user in [*on_it, *on_all] if user.is_active and user.email}
    return sorted(users.values(), key=lambda user: user.pk)


def language_of(user) -> str:
    """The language ``user`` last used on Baton's pages, else the site's."""
    chosen = RecipientLanguage.objects.filter(user_id=user.pk).values_list("language", flat=True)
    return next(iter(chosen), settings.LANGUAGE_CODE)


def remember_language(user, language: str | None) -> None:
    """Keep the language ``user`` reads Baton in, for the messages sent to them later."""
    codes = {code for code, _ in settings.LANGUAGES}
    language = (language or "").split("-")[0]
    if user is None or not user.is_authenticated or language not in codes:
        return
    RecipientLanguage.objects.update_or_create(user=user, defaults={"language": language})


def remember_language_at_login(sender, request, user, **kwargs) -> None:
    """``user_logged_in`` receiver: the language of the login page is the user's."""
    remember_language(user, getattr(request, "LANGUAGE_CODE", None))
