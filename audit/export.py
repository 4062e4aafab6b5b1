"""The filtered audit trail as a CSV file, streamed: constant memory at millions of rows."""

import csv
from collections.abc import Iterator
from datetime import UTC

from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.http import StreamingHttpResponse
from django.utils import timezone

# (CSV column, field, whether people type its value: those are defused below)
COLUMNS = (
    ("id", "id", False),
    ("when_utc", "created_at", False),
    ("actor", "actor_label", True),
    ("api_token", "token_name", True),
    ("action", "verb", False),
    ("object_type", "object_type", False),
    ("object_id", "object_id", True),
    ("object", "object_label", True),
    ("workflow", "workflow_slug", False),
    ("details", "details_json", False),  # a JSON object: starts with "{"
    ("ip_address", "ip_address", False),
    ("user_agent", "user_agent", True),
    ("prev_hash", "prev_hash", False),
    ("hash", "hash", False),
)
TYPED = [index for index, (_, _, typed) in enumerate(COLUMNS) if typed]
ROWS_PER_CHUNK = 2000  # rows per database fetch and per chunk sent
# A cell starting with one of these is a formula to spreadsheet programs (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """A file-like that hands back what csv.writer writes, instead of storing it."""

    def write(self, text: str) -> str:
        return text


def _csv_values(row: tuple) -> list:
    values = list(row)
    values[1] = row[1].astimezone(UTC).isoformat()
    for index in TYPED:
        if values[index].startswith(FORMULA_STARTS):
            values[index] = "'" + values[index]
    return values


def csv_lines(events: QuerySet) -> Iterator[str]:
    """The header, then the events oldest first, in chunks of ``ROWS_PER_CHUNK`` lines.

    The details are read as the database's JSON text (no decoding and
    re-encoding of each row): key order may differ from the pages'.
    """
    writer = csv.writer(_Line())
    yield writer.writerow([title for title, _, _ in COLUMNS])
    rows = (
        events.order_by("id")
        .annotate(details_json=Cast("details", TextField()))
        .values_list(*(field for _, field, _ in COLUMNS))
    )
    chunk = []
    for row in rows.iterator(chunk_size=ROWS_PER_CHUNK):
        chunk.append(writer.writerow(_csv_values(row)))
        if len(chunk) == ROWS_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def csv_response(events: QuerySet, *, name: str = "audit") -> StreamingHttpResponse:
    """A download of ``events`` as CSV, named after ``name`` and the time of export."""
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(csv_lines(events), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="baton-{name}-{stamp}.csv"'
    return response
