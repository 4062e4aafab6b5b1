from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path

from config.admin_layout import arrange
from config.api import api

arrange(admin.site)  # one Baton section; third-party models admins do not need hidden


def _api_urls():
    """The API's URLs; its docs page (Swagger UI) also loads the data: icons it draws."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if pattern.name == "openapi-view":
            pattern.callback = csp_update({"img-src": ["data:"]})(pattern.callback)
    return patterns, app_name, namespace


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", _api_urls()),  # REST API, OpenAPI schema and docs (config/api.py)
    path("", include("accounts.urls")),  # before allauth: shadows its e-mail sending pages
    path("accounts/", include("allauth.urls")),
    path("", include("audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the language switcher
    path("", include("workflows.urls")),
    path("", include("runs.urls")),
    path("", include("runs.notifications.urls")),
]
