from django.contrib import admin
from django.urls import include, path

from config.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),  # REST API, OpenAPI schema and docs (config/api.py)
    path("", include("accounts.urls")),  # before allauth: shadows its e-mail sending pages
    path("accounts/", include("allauth.urls")),
    path("", include("audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the language switcher
    path("", include("workflows.urls")),
    path("", include("runs.urls")),
]
