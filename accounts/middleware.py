from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django_htmx.http import HttpResponseClientRedirect


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Every page needs a logged-in user, except views marked ``@login_not_required``.

    allauth's login views and the admin login are marked so by their authors.
    The REST API under /api/ authenticates each request with a token instead of
    a session, and answers 401 itself rather than redirecting to a login page.
    /i18n/ (Django's set_language) lets the login page switch languages.
    """

    exempt_path_prefixes = ("/api/", "/i18n/")

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path_info.startswith(self.exempt_path_prefixes):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

    def handle_no_permission(self, request, view_func):
        response = super().handle_no_permission(request, view_func)
        if getattr(request, "htmx", False):
            # A fragment refreshed after the session expired: reload the whole
            # page on the login screen instead of swapping it into the fragment.
            return HttpResponseClientRedirect(response.url)
        return response
