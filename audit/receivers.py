"""Signal receivers that record logins, logouts, failed logins, admin and permission changes.

Connected once by ``AccountsConfig.ready`` through ``connect_receivers``.
"""

from allauth.account.authentication import get_authentication_records
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save, pre_save
from guardian.models import GroupObjectPermission, UserObjectPermission

from audit.models import AuditEvent

from .admin_changes import remember_values_before_admin_save
from .admin_log import install_bulk_log_hook, on_log_entry_saved
from .object_permissions import (
    install_bulk_assign_hook,
    on_object_permission_deleted,
    on_object_permission_saved,
)
from .recorder import record_event

Verb = AuditEvent.Verb


def on_logged_in(sender, request, user, **kwargs):
    record_event(
        verb=Verb.LOGIN,
        actor=user,
        obj=user,
        request=request,
        details={"method": _login_method(request, user)},
    )


def _login_method(request, user) -> str:
    """How the user proved who they are: "password", or the provider ("google")."""
    records = get_authentication_records(request, user) if hasattr(request, "session") else []
    if not records:
        return "other"  # e.g. the test client's force_login
    last = records[-1]
    return (
        last.get("provider", last["method"])
        if last["method"] == "socialaccount"
        else last["method"]
    )


def on_logged_out(sender, request, user, **kwargs):
    if user is not None:  # logging out without a session is nobody's action
        record_event(verb=Verb.LOGOUT, actor=user, obj=user, request=request)


def on_login_failed(sender, credentials, request=None, **kwargs):
    """A wrong password (or an unknown login): the login typed is the actor's label."""
    typed = str(
        credentials.get("username") or credentials.get("email") or credentials.get("login") or ""
    )
    account = _account_named(typed)
    record_event(
        verb=Verb.LOGIN_FAILED,
        actor_label=typed or "?",
        obj=account,
        request=request,
        details={"login": typed, "account_exists": account is not None},
    )


def _account_named(typed: str):
    if not typed:
        return None
    User = get_user_model()
    field = "email__iexact" if "@" in typed else User.USERNAME_FIELD
    matches = list(User.objects.filter(**{field: typed})[:2])
    return matches[0] if len(matches) == 1 else None


def connect_receivers() -> None:
    """Connect the audit receivers (idempotent: each has a dispatch_uid)."""
    user_logged_in.connect(on_logged_in, dispatch_uid="baton_audit_login")
    user_logged_out.connect(on_logged_out, dispatch_uid="baton_audit_logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="baton_audit_login_failed")
    post_save.connect(on_log_entry_saved, sender=LogEntry, dispatch_uid="baton_audit_admin_log")
    pre_save.connect(remember_values_before_admin_save, dispatch_uid="baton_audit_admin_values")
    install_bulk_log_hook()
    # Object permissions on workflows changed outside grant_role / revoke_role.
    for model, kind in ((UserObjectPermission, "user"), (GroupObjectPermission, "group")):
        post_save.connect(
            on_object_permission_saved, sender=model, dispatch_uid=f"baton_audit_{kind}_perm_added"
        )
        post_delete.connect(
            on_object_permission_deleted,
            sender=model,
            dispatch_uid=f"baton_audit_{kind}_perm_removed",
        )
    install_bulk_assign_hook()
