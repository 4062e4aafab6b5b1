from django.urls import path

from . import views
from .audit import views as audit_views

app_name = "accounts"

urlpatterns = [
    path("workflows/<slug:slug>/access/", views.workflow_access_page, name="workflow_access"),
    path(
        "workflows/<slug:slug>/access/remove/",
        views.workflow_access_remove,
        name="workflow_access_remove",
    ),
    path("tokens/", views.tokens_page, name="tokens"),
    path("audit/", audit_views.audit_page, name="audit"),
    path("audit/export.csv", audit_views.audit_export, name="audit_export"),
    path("workflows/<slug:slug>/history/", audit_views.workflow_history, name="workflow_history"),
    path(
        "workflows/<slug:slug>/history/export.csv",
        audit_views.workflow_history_export,
        name="workflow_history_export",
    ),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    # Shadow allauth's pages that would send email: Baton has no mail set up for
    # accounts; admins reset passwords and emails come from Google.
    path("accounts/password/reset/", views.managed_by_admins, name="managed_by_admins"),
    path("accounts/email/", views.managed_by_admins),
]
