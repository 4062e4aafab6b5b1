"""Helpers for tests that need users with roles (the permission matrix and its extensions).

They set rights up directly, without the rules of ``services.grant_role``:
test setup, not a path users take.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from guardian.shortcuts import assign_perm

from audit.object_permissions import without_permission_events
from workflows.models import Workflow

from .roles import Role, ensure_role_groups


def make_workflow(slug: str, **fields) -> Workflow:
    return Workflow.objects.create(slug=slug, title=fields.pop("title", slug), **fields)


def make_user(username: str, *, superuser: bool = False, **fields):
    fields.setdefault("email", f"{username}@example.com")
    User = get_user_model()
    if superuser:
        return User.objects.create_superuser(
            username, password=fields.pop("password", None), **fields
        )
    return User.objects.create_user(username, password=fields.pop("password", None), **fields)


def role_group(role: Role) -> Group:
    """The group that gives ``role`` on all workflows (re-created if a flush removed it)."""
    from django.apps import apps

    ensure_role_groups(apps, using=connection.alias)
    return Group.objects.get(name=role.group_name)


def give_role(holder, role: Role | str, workflow: Workflow | None = None) -> None:
    """Give ``role`` to a user or group on ``workflow``, or on all workflows when None."""
    role = Role(role)
    if workflow is None:
        group = role_group(role)
        if isinstance(holder, Group):
            holder.permissions.add(*group.permissions.all())
        else:
            group.user_set.add(holder)
        return
    with without_permission_events():  # setup, not an audited change
        for codename in role.permissions:
            assign_perm(codename, holder, workflow)
