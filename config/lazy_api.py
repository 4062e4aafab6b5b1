"""The REST API's modules load with the first API request, not with every web process.

Django Ninja, pydantic and the API's schemas are ~13 MiB resident in each web process.
Requests outside /api/ use the pages' URLconf (config.page_urls), which does not import
them; API requests, and ``reverse()`` outside a request, use the whole URLconf
(ROOT_URLCONF: config.urls).
"""

from django.urls import set_urlconf

API_PREFIX = "/api/"
PAGES_URLCONF = "config.page_urls"


class LazyAPIMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(API_PREFIX):
            request.urlconf = PAGES_URLCONF  # Django resolves and reverses with it
            # And the error pages of a later middleware's exception (a bad Host header: 400),
            # which Django looks up before it reads request.urlconf.
            set_urlconf(PAGES_URLCONF)
        return self.get_response(request)
