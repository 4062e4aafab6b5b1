"""Who may do what on which workflow: the one module every page, action and API calls.

A *need* is what the caller wants to do: "view", "trigger", "change" or
"manage". A user has a need on a workflow when they hold its permission either
on that workflow (guardian object permission, to them or to one of their
groups) or on all workflows (model-level permission, usually through a role
group). Every need other than "view" also requires "view": a workflow you may
not see answers 404, never 403, so that its name does not leak.

Superusers may do everything; inactive or anonymous users may do nothing.
Inactive workflows (removed from code) stay visible for their history; callers
decide whether they may still be triggered.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import get_objects_for_user

from workflows.models import Workflow

from .roles import Role

NEEDS = {
    "view": "view_workflow",
    "trigger": "trigger_workflow",
    "change": "change_workflow",
    "manage": "manage_workflow",
}


def permission_for(need: str) -> str:
    """The Workflow permission codename behind a need; ValueError for an unknown need."""
    try:
        return NEEDS[need]
    except KeyError:
        raise ValueError(f"unknown need {need!r}; expected one of {', '.join(NEEDS)}") from None


def _is_usable(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def workflows_for(user, need: str = "view") -> QuerySet[Workflow]:
    """The workflows ``user`` may see and do ``need`` on, as a lazy queryset.

    Runs a constant number of queries whatever the number of workflows, so list
    pages, counts and API lists all filter through it.
    """
    codename = permission_for(need)
    if not _is_usable(user):
        return Workflow.objects.none()
    codenames = sorted({NEEDS["view"], codename})
    return get_objects_for_user(user, codenames, Workflow, accept_global_perms=True)


def held_permissions(user, workflow: Workflow) -> frozenset[str]:
    """The Workflow permission codenames ``user`` holds on ``workflow``, global or per object."""
    if not _is_usable(user):
        return frozenset()
    if user.is_superuser:
        return frozenset(NEEDS.values())
    global_codenames = {
        perm.split(".", 1)[1]
        for perm in user.get_all_permissions()  # cached on the user by ModelBackend
        if perm.startswith("workflows.")
    }
    object_codenames = ObjectPermissionChecker(user).get_perms(workflow)
    return frozenset(global_codenames.union(object_codenames) & set(NEEDS.values()))


def can(user, need: str, workflow: Workflow) -> bool:
    """Whether ``user`` may do ``need`` on ``workflow`` (seeing it is part of every need)."""
    held = held_permissions(user, workflow)
    return NEEDS["view"] in held and permission_for(need) in held


def holds_role(user, role: Role, workflow: Workflow) -> bool:
    """Whether ``user`` holds every permission of ``role`` on ``workflow``."""
    return role.permissions <= held_permissions(user, workflow)


def get_workflow_for(user, slug: str, need: str = "view") -> Workflow:
    """The workflow ``slug`` if ``user`` may do ``need`` on it.

    Raises Http404 when it does not exist or the user may not see it, and
    PermissionDenied (403) when they may see it but not do ``need``.
    """
    permission_for(need)  # an unknown need is a programming error, not a 404
    workflow = Workflow.objects.filter(slug=slug).first()
    if workflow is None:
        raise Http404("No such workflow.")
    held = held_permissions(user, workflow)
    if NEEDS["view"] not in held:
        raise Http404("No such workflow.")
    if permission_for(need) not in held:
        raise PermissionDenied
    return workflow
