"""Roles: named bundles of Workflow permissions, kept as Django groups.

A role is given on one workflow (guardian object permissions to a user or a
group) or on all workflows (membership of the role's group, which holds the
model-level permissions).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

# The Workflow permissions that roles are made of, weakest first.
WORKFLOW_PERMISSIONS = (
    "view_workflow",
    "trigger_presets_workflow",
    "trigger_workflow",
    "change_workflow",
    "manage_workflow",
)


class Role(models.TextChoices):
    VIEWER = "viewer", _("Viewer")
    RUNNER = "runner", _("Preset runner")
    OPERATOR = "operator", _("Operator")
    EDITOR = "editor", _("Editor")
    OWNER = "owner", _("Owner")

    @property
    def permissions(self) -> frozenset[str]:
        """The Workflow permission codenames a holder of this role has."""
        return ROLE_PERMISSIONS[self]

    @property
    def group_name(self) -> str:
        """Name of the group that gives this role on all workflows (never translated)."""
        return self.name.title()

    @property
    def description(self) -> str:
        return ROLE_DESCRIPTIONS[self]


# Starting runs from presets is implied by starting runs at all (``trigger_workflow``),
# so the roles above Preset runner do not hold it: grants made before it existed
# still read as the role they were.
ROLE_PERMISSIONS = {
    Role.VIEWER: frozenset({"view_workflow"}),
    Role.RUNNER: frozenset({"view_workflow", "trigger_presets_workflow"}),
    Role.OPERATOR: frozenset({"view_workflow", "trigger_workflow"}),
    Role.EDITOR: frozenset({"view_workflow", "trigger_workflow", "change_workflow"}),
    Role.OWNER: frozenset(
        {"view_workflow", "trigger_workflow", "change_workflow", "manage_workflow"}
    ),
}

ROLE_DESCRIPTIONS = {
    Role.VIEWER: _("sees the workflow, its runs and logs"),
    Role.RUNNER: _("also starts runs from its presets, without changing their values"),
    Role.OPERATOR: _("also starts runs"),
    Role.EDITOR: _("also pauses, retries, marks runs and edits the schedule"),
    Role.OWNER: _("also gives others access"),
}


def role_for_permissions(codenames) -> Role | None:
    """The strongest role whose permissions are all in ``codenames``, or None."""
    held = set(codenames)
    matching = [role for role in Role if role.permissions <= held]
    return matching[-1] if matching else None


def ensure_role_groups(apps, using="default") -> None:
    """Create the role groups and give them their model-level permissions (idempotent).

    Takes an app registry so that the data migration (historical models) and the
    post_migrate handler (live models) share it. It only adds: permissions an
    admin gave a role group on top are kept.
    """
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    permissions = {
        permission.codename: permission
        for permission in permission_model.objects.using(using).filter(
            content_type__app_label="workflows",
            content_type__model="workflow",
            codename__in=WORKFLOW_PERMISSIONS,
        )
    }
    for role in Role:
        group, _created = group_model.objects.using(using).get_or_create(name=role.group_name)
        # The first data migration runs before later permissions exist; post_migrate adds them.
        held = [permissions[codename] for codename in role.permissions if codename in permissions]
        group.permissions.add(*held)
