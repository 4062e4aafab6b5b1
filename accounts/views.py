from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .forms import GrantRoleForm, RevokeAccessForm, TokenCreateForm
from .models import ApiToken
from .permissions import workflow_for
from .roles import Role
from .selectors import workflow_access
from .services import AccessChangeError, create_token, grant_role, revoke_role, revoke_token


def _render_access(request, workflow, form, status=200):
    context = {
        "workflow": workflow,
        "access": workflow_access(workflow),
        "form": form,
        "roles": list(Role),
    }
    return render(request, "accounts/workflow_access.html", context, status=status)


def workflow_access_page(request, slug):
    """The Access page of a workflow: who holds which role; Owners add people here."""
    workflow, _access = workflow_for(request.user, slug, need="manage")
    form = GrantRoleForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        holder = form.cleaned_data["user"] or form.cleaned_data["group"]
        try:
            role = grant_role(
                workflow=workflow,
                role=form.cleaned_data["role"],
                to_user=form.cleaned_data["user"],
                to_group=form.cleaned_data["group"],
                by=request.user,
            )
        except AccessChangeError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("%(holder)s is now %(role)s of this workflow.")
                % {"holder": holder, "role": role.label},
            )
            return redirect("accounts:workflow_access", slug=workflow.slug)
    return _render_access(request, workflow, form, status=400 if form.errors else 200)


@require_POST
def workflow_access_remove(request, slug):
    """Take away the role a user or group has on the workflow."""
    workflow, _access = workflow_for(request.user, slug, need="manage")
    form = RevokeAccessForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Nobody was removed: that user or group does not exist."))
        return redirect("accounts:workflow_access", slug=workflow.slug)
    holder = form.cleaned_data["user"] or form.cleaned_data["group"]
    try:
        revoke_role(
            workflow=workflow,
            from_user=form.cleaned_data["user"],
            from_group=form.cleaned_data["group"],
            by=request.user,
        )
    except AccessChangeError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("%(holder)s no longer has a role on this workflow.") % {"holder": holder}
        )
    return redirect("accounts:workflow_access", slug=workflow.slug)


@never_cache  # the page that shows a new token must not stay in any cache
def tokens_page(request):
    """My tokens: create one (shown once), list them, revoke."""
    form = TokenCreateForm(request.POST if request.method == "POST" else None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        token, raw_token = create_token(
            user=request.user,
            name=form.cleaned_data["name"],
            expires_at=form.expires_at(),
            by=request.user,
        )
        new_token = {"token": token, "raw": raw_token}
        form = TokenCreateForm()
    context = {
        "form": form,
        "new_token": new_token,
        "tokens": request.user.api_tokens.all(),
    }
    return render(request, "accounts/tokens.html", context, status=400 if form.errors else 200)


@require_POST
def token_revoke(request, token_id):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    revoke_token(token=token, by=request.user)
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("accounts:tokens")


@login_not_required
def managed_by_admins(request):
    """Stands in for allauth's password-reset and email pages: Baton sends no account email."""
    return render(request, "account/managed_by_admins.html")
