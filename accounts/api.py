"""How the REST API knows who calls it: an API token, or the browser session with CSRF.

Scripts send ``Authorization: Bearer <token>`` (tokens from the My tokens page or
``manage.py createtoken``); the pages' own JavaScript calls the API with the
session cookie and the CSRF token. Either way the operation sees the user as
``request.auth`` (and ``request.user``); a token call also sets
``request.api_token``, so the audit trail can name the token.
"""

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from .tokens import authenticate_token

REFUSED_TOKEN = (
    "Invalid, revoked or expired API token. Create a new one on the My tokens page "
    "(/tokens/) or with `manage.py createtoken`."
)
CSRF_FAILED = (
    "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header, "
    "or use an API token."
)


class BearerToken(HttpBearer):
    """``Authorization: Bearer baton_…``: a personal API token, acting as its user."""

    def authenticate(self, request: HttpRequest, token: str):
        """The token's user; a token that is sent but refused is a 401 at once.

        Falling back to the session would hide a revoked token behind a
        logged-in browser, so a bad token never does.
        """
        found = authenticate_token(token.strip())
        if found is None:
            raise AuthenticationError(message=REFUSED_TOKEN)
        user, api_token = found
        request.user = user
        request.api_token = api_token
        return user


class SessionWithCsrf(APIKeyCookie):
    """The logged-in browser session; unsafe methods must carry the CSRF token.

    Unlike Ninja's ``SessionAuth``, the CSRF check runs only when there is a
    logged-in session, so a request with no credentials at all is a 401
    (log in), not a 403 (CSRF).
    """

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None):
        """The session's user, after the CSRF check for POST and other unsafe methods."""
        user = getattr(request, "user", None)
        if not key or user is None or not user.is_authenticated:
            return None
        checks_csrf = self.csrf and not getattr(request, "_ninja_csrf_exempt", False)
        if checks_csrf and check_csrf(request) is not None:
            raise HttpError(403, CSRF_FAILED)
        return user


API_AUTH = [BearerToken(), SessionWithCsrf(csrf=True)]
