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
