"""Every URL: the REST API under /api/v1/ and the pages (config.page_urls)."""

from csp.decorators import csp_update
from django.urls import path

from config.api import api
from config.page_urls import urlpatterns as page_urlpatterns


def _api_urls():
    """The API's URLs; its docs page (Swagger UI) also loads the data: icons it draws."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if pattern.name == "openapi-view":
            pattern.callback = csp_update({"img-src": ["data:"]})(pattern.callback)
    return patterns, app_name, namespace


urlpatterns = [
    path("api/v1/", _api_urls()),  # REST API, OpenAPI schema and docs (config/api.py)
    *page_urlpatterns,
]
