"""The shapes every part of the REST API shares: the error body and its status codes."""

from ninja import Schema
from pydantic import ConfigDict, Field


class ErrorOut(Schema):
    """Every error the API answers, whatever its status code."""

    detail: str = Field(description="What went wrong, in a sentence a person can act on.")
    errors: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Messages per field (body field, query parameter or header); may be empty.",
    )


class StrictInput(Schema):
    """Base of request bodies: a field the API does not know is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


# What each error status means, shown in the schema for every operation that may answer it;
# an operation adds its own words with ``described`` (e.g. which values its 422 checks).
ERROR_MEANINGS = {
    400: "Malformed JSON body.",
    401: "No token, or a bad, revoked or expired one (or no logged-in session).",
    403: "You may see the workflow but not do this (or the CSRF token is missing).",
    404: "Missing, or not visible to you.",
    409: "Refused in the current state (paused, finished…); `detail` says why.",
    413: "Body over 1 MiB.",
    422: "Invalid values: messages by field (body field, query parameter or header) in `errors`.",
}


def described(statuses: dict[int, str], *, links: dict[int, dict] | None = None) -> dict:
    """``openapi_extra`` for an operation: its own words for some statuses, and their links."""
    # int keys, as Ninja's: "201" beside 201 gave the JSON duplicate keys Swagger UI refuses
    responses = {code: {"description": text} for code, text in statuses.items()}
    for code, status_links in (links or {}).items():
        responses.setdefault(code, {})["links"] = status_links
    return {"responses": responses}


def error_responses(*codes: int) -> dict[int, type[ErrorOut]]:
    """``response=`` entries documenting the error statuses an operation may answer.

    401 (authentication) and 422 (validation) may be answered by every operation;
    add the others it can answer.
    """
    return dict.fromkeys(sorted({401, 422, *codes}), ErrorOut)


class InvalidRequest(Exception):
    """A request value the API refuses (422), with messages by field name."""

    def __init__(self, errors: dict[str, list[str]], detail: str = "Invalid request values."):
        self.errors = errors
        self.detail = detail
        super().__init__(detail)
