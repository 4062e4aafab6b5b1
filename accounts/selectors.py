"""Reads of the accounts app: who holds which role on a workflow."""

from collections import defaultdict
from dataclasses import dataclass, field, replace

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from guardian.models import GroupObjectPermission, UserObjectPermission

from workflows.models import Workflow

from .roles import WORKFLOW_PERMISSIONS, Role, role_for_permissions


@dataclass(frozen=True)
class Holder:
    """A user or a group and what they hold: a role, or a set of permissions matching none."""

    holder: object
    permissions: frozenset[str]
    members: tuple = ()  # a group's active users

    @property
    def is_group(self) -> bool:
        return isinstance(self.holder, Group)

    @property
    def role(self) -> Role | None:
        return role_for_permissions(self.permissions)

    @property
    def is_exact_role(self) -> bool:
        """False when the permissions were set by hand (in the admin) and match no role."""
        return self.role is not None and self.role.permissions == self.permissions


@dataclass
class WorkflowAccess:
    """Everyone who may do something on a workflow, and why."""

    on_workflow: list[Holder] = field(default_factory=list)  # users and groups, on this one
    on_all_workflows: list[Holder] = field(default_factory=list)  # users and groups, globally
    superusers: list = field(default_factory=list)


def _object_permission_rows(workflow: Workflow, model, holder_field: str):
    return model.objects.filter(
        content_type=ContentType.objects.get_for_model(Workflow),
        object_pk=str(workflow.pk),
        permission__codename__in=WORKFLOW_PERMISSIONS,
    ).select_related(holder_field, "permission")


def object_permissions_of(holder, workflow: Workflow) -> frozenset[str]:
    """The role permissions a user or group was given on this one workflow (not globally)."""
    if isinstance(holder, Group):
        rows = _object_permission_rows(workflow, GroupObjectPermission, "group").filter(
            group=holder
        )
    else:
        rows = _object_permission_rows(workflow, UserObjectPermission, "user").filter(user=holder)
    return frozenset(row.permission.codename for row in rows)


def _holders(rows, holder_field: str) -> list[Holder]:
    codenames_by_holder = defaultdict(set)
    for row in rows:
        codenames_by_holder[getattr(row, holder_field)].add(row.permission.codename)
    return [
        Holder(holder, frozenset(codenames)) for holder, codenames in codenames_by_holder.items()
    ]


def _sorted(holders: list[Holder]) -> list[Holder]:
    # Groups first, then strongest role first, then by name.
    def key(item: Holder):
        rank = list(Role).index(item.role) if item.role else -1
        return (not item.is_group, -rank, str(item.holder).lower())

    return sorted(holders, key=key)


def _global_holders() -> list[Holder]:
    workflow_permissions = Permission.objects.filter(
        content_type=ContentType.objects.get_for_model(Workflow),
        codename__in=WORKFLOW_PERMISSIONS,
    ).prefetch_related("group_set", "user_set")
    codenames_by_holder = defaultdict(set)
    for permission in workflow_permissions:
        for holder in [*permission.group_set.all(), *permission.user_set.all()]:
            codenames_by_holder[holder].add(permission.codename)
    return [
        Holder(holder, frozenset(codenames)) for holder, codenames in codenames_by_holder.items()
    ]


def _with_members(holders: list[Holder]) -> list[Holder]:
    group_ids = {item.holder.pk for item in holders if item.is_group}
    members = defaultdict(list)
    users = get_user_model().objects.filter(groups__in=group_ids, is_active=True).distinct()
    for user in users.prefetch_related("groups").order_by("username"):
        for group in user.groups.all():
            if group.pk in group_ids:
                members[group.pk].append(user)
    return [
        replace(item, members=tuple(members[item.holder.pk])) if item.is_group else item
        for item in holders
    ]


def workflow_access(workflow: Workflow) -> WorkflowAccess:
    """Who holds which role on ``workflow``: on it, on all workflows, and superusers."""
    on_workflow = _holders(
        _object_permission_rows(workflow, UserObjectPermission, "user"), "user"
    ) + _holders(_object_permission_rows(workflow, GroupObjectPermission, "group"), "group")
    on_all_workflows = _global_holders()
    everyone = _with_members(on_workflow + on_all_workflows)
    return WorkflowAccess(
        on_workflow=_sorted(everyone[: len(on_workflow)]),
        on_all_workflows=_sorted(everyone[len(on_workflow) :]),
        superusers=list(
            get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("username")
        ),
    )
