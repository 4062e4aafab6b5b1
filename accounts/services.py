"""Writes of the accounts app: giving and taking workflow roles, API tokens.

Views, the API and commands call these; nobody assigns guardian permissions or
creates tokens directly, so that the rules, and the audit event written in the
same transaction, hold everywhere.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from audit.object_permissions import without_permission_events
from audit.recorder import Verb, record_event
from workflows.models import Workflow

from . import permissions
from .models import ApiToken
from .roles import Role, role_for_permissions
from .selectors import object_permissions_of
from .tokens import generate_token, hash_token


class AccessChangeError(Exception):
    """A grant or revocation that is refused; the message is meant for the user."""


def _role(value) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise AccessChangeError(
            _("Unknown role “%(role)s”. Roles are: %(roles)s.")
            % {"role": value, "roles": ", ".join(str(role.label) for role in Role)}
        ) from None


def _holder(user, group):
    if (user is None) == (group is None):
        raise AccessChangeError(_("Choose either a user or a group."))
    return user if user is not None else group


def _check_may_change(by, workflow: Workflow, *, grants: frozenset, replaces: frozenset) -> None:
    """Nobody gives, or takes away, more than they hold themselves."""
    access = permissions.access_of(by, workflow)
    if not access.may_manage:
        raise AccessChangeError(_("You may not change who has access to this workflow."))
    held = access.held
    if not grants <= held:
        raise AccessChangeError(
            _("You cannot give the %(role)s role: you do not hold it yourself on this workflow.")
            % {"role": _role_label(grants)}
        )
    if not replaces <= held:
        raise AccessChangeError(
            _("You cannot change the access of someone who has more rights than you.")
        )


def _role_label(codenames: frozenset) -> str:
    for role in Role:
        if role.permissions == codenames:
            return str(role.label)
    return ", ".join(sorted(codenames))


@transaction.atomic
def grant_role(*, workflow: Workflow, role, to_user=None, to_group=None, by) -> Role:
    """Give ``role`` on ``workflow`` to a user or a group, replacing the role they had there.

    Raises AccessChangeError (with a message for the user) when ``by`` may not
    manage the workflow, does not hold ``role`` themselves, or would lower
    someone holding more than they do.
    """
    role = _role(role)
    holder = _holder(to_user, to_group)
    current = object_permissions_of(holder, workflow)
    _check_may_change(by, workflow, grants=role.permissions, replaces=current)
    with without_permission_events():  # one role.granted event, not one per permission
        for codename in current - role.permissions:
            remove_perm(codename, holder, workflow)
        for codename in role.permissions - current:
            assign_perm(codename, holder, workflow)
    if current != role.permissions:
        record_event(
            verb=Verb.ROLE_GRANTED,
            actor=by,
            obj=holder,
            workflow=workflow,
            details={"role": role.value, "previous_role": _role_value(current)},
        )
    return role


def _role_value(codenames: frozenset) -> str | None:
    """The role a set of permissions amounts to, for the audit trail ("custom" for hand-made)."""
    if not codenames:
        return None
    role = role_for_permissions(codenames)
    return role.value if role is not None and role.permissions == codenames else "custom"


@transaction.atomic
def revoke_role(*, workflow: Workflow, from_user=None, from_group=None, by) -> None:
    """Take away the role a user or a group was given on ``workflow``.

    Rights they hold on all workflows (role groups) are not touched: those are
    changed in the admin. Same rules as ``grant_role``.
    """
    holder = _holder(from_user, from_group)
    current = object_permissions_of(holder, workflow)
    _check_may_change(by, workflow, grants=frozenset(), replaces=current)
    with without_permission_events():  # one role.revoked event, not one per permission
        for codename in current:
            remove_perm(codename, holder, workflow)
    if current:
        record_event(
            verb=Verb.ROLE_REVOKED,
            actor=by,
            obj=holder,
            workflow=workflow,
            details={"previous_role": _role_value(current)},
        )


@transaction.atomic
def create_token(
    *, user, name: str, expires_at: datetime | None = None, by=None
) -> tuple[ApiToken, str]:
    """Create an API token for ``user``; returns it with the raw token, to show once.

    ``by`` is who creates it, for the audit trail (default: the request's user,
    or "system" for a command).
    """
    prefix, raw_token = generate_token()
    token = ApiToken.objects.create(
        user=user, name=name, prefix=prefix, key_hash=hash_token(raw_token), expires_at=expires_at
    )
    record_event(
        verb=Verb.TOKEN_CREATED,
        actor=by,
        obj=token,
        details={"owner": user.get_username(), "name": name, "expires_at": expires_at},
    )
    return token, raw_token


@transaction.atomic
def revoke_token(*, token: ApiToken, by=None) -> None:
    """Revoke ``token`` from now on (idempotent: the first revocation time is kept).

    ``by`` is who revokes it, for the audit trail (default: the request's user).
    """
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db(fields=["revoked_at"])
    if revoked:
        record_event(
            verb=Verb.TOKEN_REVOKED,
            actor=by,
            obj=token,
            details={"owner": token.user.get_username(), "name": token.name},
        )
