from django.urls import path

from . import preference_views, views

app_name = "accounts"

urlpatterns = [
    path("workflows/<slug:slug>/access/", views.workflow_access_page, name="workflow_access"),
    path(
        "workflows/<slug:slug>/access/remove/",
        views.workflow_access_remove,
        name="workflow_access_remove",
    ),
    path("tokens/", views.tokens_page, name="tokens"),
    path("preferences/", preference_views.preferences, name="preferences"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    # Shadow allauth's pages that would send email: Baton has no mail set up for
    # accounts; admins reset passwords and emails come from Google.
    path("accounts/password/reset/", views.managed_by_admins, name="managed_by_admins"),
    path("accounts/email/", views.managed_by_admins),
]
