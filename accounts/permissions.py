"""Who may do what on which workflow: the one module every page, action, API call and admin asks.

A *need* is what the caller wants to do: "view", "trigger", "change" or
"manage". A user has a need on a workflow when they hold its permission either
on that workflow (guardian object permission, to them or to one of their
groups) or on all workflows (model-level permission, usually through a role
group). Every need other than "view" also requires "view": a workflow you may
not see answers 404, never 403, so that its name does not leak.

Superusers may do everything; inactive or anonymous users may do nothing.
Inactive workflows (removed from code) stay visible for their history; callers
decide whether they may still be triggered.

- ``workflow_for(user, slug, need)``: the workflow and the user's ``Access`` to it,
  or 404 / 403 (pages and API; ``runs.access.run_for`` does the same for a run).
- ``access_of(user, workflow)``: the ``Access`` to a workflow already loaded.
- ``workflows_for(user, need)``: the workflows a user may do ``need`` on (lists).
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import get_objects_for_user

from workflows.models import Workflow

NEEDS = {
    "view": "view_workflow",
    # Start runs from the workflow's presets only; "trigger" implies it.
    "trigger_presets": "trigger_presets_workflow",
    "trigger": "trigger_workflow",
    "change": "change_workflow",
    "manage": "manage_workflow",
}
# How a refusal names a need: "You may see workflow 'x' but not start runs of it."
NEED_WORDS = {
    "trigger_presets": "start runs from the presets of",
    "trigger": "start runs of",
    "change": "change",
    "manage": "manage access to",
}
# Whoever may start runs with any values may start them from presets too.
IMPLIED = {"trigger_workflow": "trigger_presets_workflow"}


def permission_for(need: str) -> str:
    """The Workflow permission codename behind a need; ValueError for an unknown need."""
    try:
        return NEEDS[need]
    except KeyError:
        raise ValueError(f"unknown need {need!r}; expected one of {', '.join(NEEDS)}") from None


@dataclass(frozen=True)
class Access:
    """What one user may do on one workflow (``held``: the permission codenames they hold)."""

    held: frozenset[str] = frozenset()

    def may(self, need: str) -> bool:
        return NEEDS["view"] in self.held and permission_for(need) in self.held

    @property
    def may_view(self) -> bool:
        return self.may("view")

    @property
    def may_trigger(self) -> bool:
        return self.may("trigger")

    @property
    def may_trigger_presets(self) -> bool:
        return self.may("trigger_presets")

    @property
    def may_change(self) -> bool:
        return self.may("change")

    @property
    def may_manage(self) -> bool:
        return self.may("manage")


def _is_usable(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def access_of(user, workflow: Workflow) -> Access:
    """What ``user`` may do on ``workflow``: global rights (cached on the user) and object ones.

    Two queries for a user (their object permissions and their groups'), none for
    a superuser; the global ones are read once per user object by ModelBackend.
    """
    if not _is_usable(user):
        return Access()
    if user.is_superuser:
        return Access(frozenset(NEEDS.values()))
    global_codenames = {
        perm.split(".", 1)[1]
        for perm in user.get_all_permissions()  # cached on the user by ModelBackend
        if perm.startswith("workflows.")
    }
    object_codenames = ObjectPermissionChecker(user).get_perms(workflow)
    return Access(_with_implied(global_codenames.union(object_codenames)))


def _with_implied(codenames) -> frozenset[str]:
    held = set(codenames) & set(NEEDS.values())
    held.update(IMPLIED[codename] for codename in list(held) if codename in IMPLIED)
    return frozenset(held)


def can(user, need: str, workflow: Workflow) -> bool:
    """Whether ``user`` may do ``need`` on ``workflow`` (for services that only need a yes/no)."""
    return access_of(user, workflow).may(need)


def check(access: Access, need: str, workflow: Workflow) -> None:
    """Http404 when ``access`` does not see ``workflow``; PermissionDenied without ``need``."""
    if not access.may_view:
        raise Http404("No such workflow.")
    if not access.may(need):
        raise PermissionDenied(
            f"You may see workflow '{workflow.slug}' but not {NEED_WORDS.get(need, need)} it."
        )


def workflow_for(
    user, slug: str, need: str = "view", *, queryset: QuerySet[Workflow] | None = None
) -> tuple[Workflow, Access]:
    """The workflow ``slug`` and what ``user`` may do on it, if they may do ``need``.

    Raises Http404 when it does not exist or the user may not see it, and
    PermissionDenied (403) when they may see it but not do ``need``.
    ``queryset`` loads the workflow with what the caller needs (annotations),
    in the same query.
    """
    permission_for(need)  # an unknown need is a programming error, not a 404
    workflow = (Workflow.objects if queryset is None else queryset).filter(slug=slug).first()
    if workflow is None:
        raise Http404("No such workflow.")
    access = access_of(user, workflow)
    check(access, need, workflow)
    return workflow, access


def workflows_for(user, need: str = "view") -> QuerySet[Workflow]:
    """The workflows ``user`` may see and do ``need`` on, as a lazy queryset.

    Runs a constant number of queries whatever the number of workflows, so list
    pages, counts and API lists all filter through it.
    """
    codename = permission_for(need)
    if not _is_usable(user):
        return Workflow.objects.none()
    codenames = sorted({NEEDS["view"], codename})
    found = get_objects_for_user(user, codenames, Workflow, accept_global_perms=True)
    if need == "trigger_presets":  # implied by "trigger"
        found = found | workflows_for(user, "trigger")
    return found


def startable_among(user, workflow_ids) -> set[int]:
    """Which of ``workflow_ids`` (workflows the user already may see) they may start runs of,
    with any values or from presets only: one guardian lookup, for list pages."""
    if not _is_usable(user):
        return set()
    codenames = [NEEDS["trigger"], NEEDS["trigger_presets"]]
    found = get_objects_for_user(user, codenames, Workflow, any_perm=True, accept_global_perms=True)
    return set(found.filter(pk__in=workflow_ids).values_list("pk", flat=True))
