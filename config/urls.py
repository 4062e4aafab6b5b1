from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),  # before allauth: shadows its e-mail sending pages
    path("accounts/", include("allauth.urls")),
]
