"""The REST API: one Django Ninja API at /api/v1/, assembled from each app's ``api.py``.

Every answer that is not a success has one JSON shape, ``{"detail": "...",
"errors": {field: [messages]}}`` (``config.schemas.ErrorOut``): the handlers
below turn each exception into it, so a client never gets an HTML page or a
traceback, even for an unknown URL, a wrong method or a server error.
"""

import json
import logging
from functools import wraps
from http import HTTPStatus

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import re_path
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import _csrf_needed
from ninja.parser import Parser
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from accounts.api import API_AUTH
from config import service_unavailable
from config.schemas import ERROR_MEANINGS, InvalidRequest
from runs.api import router as runs_router
from runs.api import workflow_runs
from runs.services import ActionRefused, WorkflowNotRunnable
from workflows.api import router as workflows_router
from workflows.errors import ParameterErrors
from workflows.parameter_limits import SURROGATE_REFUSED, quoted

logger = logging.getLogger("baton.api")

# Requests to start a run or mark a task are small; a bigger body is a mistake or an attack.
MAX_BODY_BYTES = 1024 * 1024
# A 422 names this many fields at most: a body of ten thousand unknown keys gets a short answer.
MAX_ERROR_FIELDS = 20
# Words for a value that does not match a field's pattern, by field: Pydantic would quote the regex.
PATTERN_MESSAGES = {
    "slug": "A workflow slug has only letters, digits, '-' and '_'.",
    "workflow": "A workflow slug has only letters, digits, '-' and '_'.",
    "task": "A task name is 1 to 200 characters, without NUL (\\u0000).",
    "search": "Text may not contain NUL (\\u0000) characters.",
    "tag": "Text may not contain NUL (\\u0000) characters.",
    "cursor": "Invalid cursor: pass the next_cursor of the previous page unchanged.",
    "Idempotency-Key": "Use 1 to 200 printable ASCII characters without spaces, e.g. a UUID.",
    "reason": "Say why you mark this task, without NUL (\\u0000) characters.",
}

DESCRIPTION = """
Start workflow runs and follow them from scripts, CI and other services.

**Authentication:** `Authorization: Bearer <token>` with a token from the My tokens
page (`/tokens/`) or `manage.py createtoken`; or the logged-in browser session, with
the CSRF token in `X-CSRFToken` for POST.

**Errors** always have the shape `{"detail": "...", "errors": {"field": ["message"]}}`
(`errors` may be empty): 400 malformed JSON, 401 no or bad credentials, 403 a workflow
you may see but not act on, 404 missing or not visible to you, 409 refused in the current
state (removed from the code, finished…), 413 body over 1 MiB, 422 invalid values.
"""


class BatonAPI(NinjaAPI):
    """NinjaAPI whose URLs answer JSON even outside its operations (unknown path, wrong method)."""

    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            pattern.callback = self._json_fallbacks(pattern.callback)
        patterns.append(re_path(r"^", self._unknown_endpoint, name="unknown-endpoint"))
        return patterns, app_name, namespace

    def _json_fallbacks(self, view):
        @wraps(view)
        def answering_json(request, *args, **kwargs):
            try:
                response = view(request, *args, **kwargs)
            except Http404:  # the API root: Ninja raises it to point at the docs
                return self._unknown_endpoint(request)
            if response.status_code == 405 and "json" not in response.get("Content-Type", ""):
                allowed = response["Allow"]
                response = error_response(
                    self, request, 405, f"Method {request.method} is not allowed here: {allowed}."
                )
                response["Allow"] = allowed
            return response

        return answering_json

    def get_openapi_schema(self, *args, **kwargs):
        """The schema, each error status described in words unless its operation has its own."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for code, response in operation["responses"].items():
                    default = HTTPStatus(int(code)).phrase
                    if int(code) in ERROR_MEANINGS and response.get("description") == default:
                        response["description"] = ERROR_MEANINGS[int(code)]
        return schema

    def _unknown_endpoint(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return error_response(
            self, request, 404, "No such API endpoint: see /api/v1/docs for the list."
        )


class StrictJsonParser(Parser):
    """JSON as RFC 8259 defines it: NaN and Infinity are refused (PostgreSQL cannot store them)."""

    def parse_body(self, request: HttpRequest):
        return json.loads(request.body, parse_constant=_refuse_constant)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


def error_response(api, request, status: int, detail: str, errors=None) -> HttpResponse:
    """The API's one error shape."""
    body = {"detail": detail, "errors": errors or {}}
    return api.create_response(request, body, status=status)


class BundledSwagger(Swagger):
    """Swagger UI from Ninja's own files, found through the settings' TEMPLATES and
    STATICFILES_DIRS: Ninja renders them itself only when "ninja" is an installed app (which
    would load it into every process) and otherwise falls back to a CDN."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs) -> HttpResponse:
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        context = {
            "swagger_settings": json.dumps(self.settings, indent=1),
            "api": api,
            "add_csrf": _csrf_needed(api),
        }
        return render(request, self.template, context)


api = BatonAPI(
    title="Baton API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=API_AUTH,
    parser=StrictJsonParser(),
    # Swagger UI from Ninja's own static files, and no call to swagger.io's online
    # validator: the docs page loads nothing from outside.
    docs=BundledSwagger(settings={"validatorUrl": None}),
)


def limit_body_size(run):
    """Refuse a body over MAX_BODY_BYTES (413) from its Content-Length, before reading it."""

    @wraps(run)
    def checked(request, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            return error_response(
                api, request, 413, f"Request body too large: the limit is {MAX_BODY_BYTES} bytes."
            )
        return run(request, *args, **kwargs)

    return checked


api.add_decorator(limit_body_size, mode="view")
api.add_router("/workflows", workflows_router)
api.add_router("/workflows", workflow_runs)
api.add_router("/runs", runs_router)


def _field_of(error: dict) -> str:
    """``"tag"``, ``"parameters"``, ``"Idempotency-Key"``… from a Pydantic error's location.

    Quoted: an unknown field's name is the client's own text, of any length.
    """
    source, *path = error.get("loc") or ("body",)
    if source == "body" and path:
        path = path[1:]  # the operation's body argument, not a field the client sent
    return quoted(".".join(str(part) for part in path) or source)


def _at_most(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    return dict(list(errors.items())[:MAX_ERROR_FIELDS])


@api.exception_handler(ValidationError)
def invalid_values(request, exc: ValidationError):
    # Only Pydantic's message, never its "input" (the value sent, maybe a megabyte).
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        message = error.get("msg", "Invalid value.").removeprefix("Value error, ")
        field = _field_of(error)
        if error.get("type") == "string_unicode":  # "unable to parse raw data as a unicode string"
            message = str(SURROGATE_REFUSED)
        elif error.get("type") == "string_pattern_mismatch":
            message = PATTERN_MESSAGES.get(field, message)
        errors.setdefault(field, []).append(quoted(message))
    errors = _at_most(errors)
    fields = ", ".join(errors)
    return error_response(api, request, 422, f"Invalid request values: {fields}.", errors)


@api.exception_handler(InvalidRequest)
def invalid_request(request, exc: InvalidRequest):
    return error_response(api, request, 422, exc.detail, exc.errors)


@api.exception_handler(ParameterErrors)
def invalid_parameters(request, exc: ParameterErrors):
    errors = {name: [str(m) for m in messages] for name, messages in exc.errors.items()}
    return error_response(api, request, 422, "Invalid parameters: see errors.", _at_most(errors))


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    detail = str(exc)
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
        # Ninja's "Cannot parse request body": say what is wrong with it.
        detail = f"Malformed JSON body: {exc.__cause__}."
    if isinstance(exc, AuthenticationError) and detail == "Unauthorized":
        detail = "Authentication required: send 'Authorization: Bearer <token>' or log in."
    response = error_response(api, request, exc.status_code, detail)
    if exc.status_code == 401:
        response["WWW-Authenticate"] = 'Bearer realm="baton"'
    return response


@api.exception_handler(Http404)
def not_found(request, exc: Http404):
    return error_response(api, request, 404, str(exc) or "Not found.")


@api.exception_handler(PermissionDenied)
def forbidden(request, exc: PermissionDenied):
    return error_response(api, request, 403, str(exc) or "You may not do this.")


@api.exception_handler(WorkflowNotRunnable)
@api.exception_handler(ActionRefused)
def refused(request, exc: Exception):
    return error_response(api, request, 409, str(exc))


@api.exception_handler(RequestDataTooBig)
def too_large(request, exc: RequestDataTooBig):
    return error_response(api, request, 413, "Request body too large.")


@api.exception_handler(OperationalError)
@api.exception_handler(RedisConnectionError)
@api.exception_handler(RedisTimeoutError)
def service_unavailable_answer(request, exc: Exception):
    service = service_unavailable.service_of(exc)
    logger.warning("%s unavailable on %s %s: %s", service, request.method, request.path, exc)
    response = error_response(api, request, 503, service_unavailable.MESSAGES[service])
    response["Retry-After"] = str(service_unavailable.RETRY_AFTER_SECONDS)
    return response


@api.exception_handler(Exception)
def server_error(request, exc: Exception):
    logger.exception("API error on %s %s", request.method, request.path)
    return error_response(
        api, request, 500, "Internal server error: it was logged; try again or tell an admin."
    )


__all__ = ["MAX_BODY_BYTES", "api", "error_response"]
