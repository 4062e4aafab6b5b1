"""The pages' URLconf: every URL but the REST API's (config.urls adds the API to these).

Requests outside /api/ are resolved against it (config.lazy_api.LazyAPIMiddleware), so a
page cannot ``reverse()`` an API URL name: it would import the API into every web process.
"""

from django.contrib import admin
from django.urls import include, path

from config.admin_layout import arrange

arrange(admin.site)  # one Baton section; third-party models admins do not need hidden

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),  # before allauth: shadows its e-mail sending pages
    path("accounts/", include("allauth.urls")),
    path("", include("audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the language switcher
    path("", include("workflows.urls")),
    path("", include("runs.urls")),
    path("", include("runs.notifications.urls")),
]
