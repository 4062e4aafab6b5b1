"""Reading one attempt's log by windows, so a 5 MB log opens at its end in a blink.

A log is the text of its TaskLogChunk rows in ``seq`` order. Positions are
character offsets into that text; they never move, since a log only grows.
The database cuts the window out (``SUBSTR``) and counts line breaks
(``LENGTH - LENGTH(REPLACE(...))``), so only the shown part travels.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Case, IntegerField, Sum, Value, When
from django.db.models.functions import Length, Replace, Substr

from .models import TaskLogChunk

# About 1,300 lines of 80 characters: what a browser shows at once without effort.
WINDOW_CHARS = 100_000


@dataclass(frozen=True)
class Chunk:
    seq: int
    start: int
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size


@dataclass(frozen=True)
class LogWindow:
    """A piece of a log: ``text`` spans [start, end); its first line is number ``first_line``."""

    text: str
    start: int
    end: int
    first_line: int

    @property
    def lines(self) -> list[tuple[int, str]]:
        if not self.text:
            return []
        lines = self.text.split("\n")
        if lines[-1] == "":
            lines.pop()  # the text ends with a line break, not with an empty line
        return list(enumerate(lines, start=self.first_line))

    @property
    def next_line(self) -> int:
        """The number of the line that starts at ``end``."""
        return self.first_line + self.text.count("\n")

    @property
    def has_earlier(self) -> bool:
        return self.start > 0


def _breaks(expression):
    return Length(expression) - Length(Replace(expression, Value("\n"), Value("")))


class LogReader:
    """The log of one attempt of one task run, read by windows."""

    def __init__(self, *, task_run_id: int, attempt: int):
        self.chunks_of = TaskLogChunk.objects.filter(task_run_id=task_run_id, attempt=attempt)
        self._outline: list[Chunk] | None = None

    @property
    def outline(self) -> list[Chunk]:
        """Each chunk's place in the text (sizes counted by the database)."""
        if self._outline is None:
            rows = self.chunks_of.order_by("seq").values_list("seq", Length("text"))
            outline, start = [], 0
            for seq, size in rows:
                outline.append(Chunk(seq, start, size or 0))
                start += size or 0
            self._outline = outline
        return self._outline

    @property
    def size(self) -> int:
        return self.outline[-1].end if self.outline else 0

    def read(self, start: int, end: int) -> str:
        """The text in [start, end), cut out by the database."""
        overlapping = [c for c in self.outline if c.end > start and c.start < end and c.size]
        if not overlapping:
            return ""
        first, last = overlapping[0], overlapping[-1]
        pos = {first.seq: max(start - first.start, 0) + 1}
        length = {first.seq: min(end, first.end) - max(start, first.start)}
        if last.seq != first.seq:
            length[last.seq] = min(end, last.end) - last.start
        rows = (
            self.chunks_of.filter(seq__gte=first.seq, seq__lte=last.seq)
            .annotate(
                part=Substr(
                    "text",
                    _by_seq(pos, default=Value(1)),
                    _by_seq(length, default=Length("text")),
                )
            )
            .order_by("seq")
            .values_list("part", flat=True)
        )
        return "".join(rows)

    def line_at(self, offset: int) -> int:
        """The number of the line ``offset`` is on (1 for the start)."""
        if offset <= 0:
            return 1
        inside = next((c for c in self.outline if c.start < offset < c.end), None)
        if inside is not None:
            prefix = Substr("text", 1, offset - inside.start)
            breaks = Case(
                When(seq__lt=inside.seq, then=_breaks("text")),
                When(seq=inside.seq, then=_breaks(prefix)),
                default=Value(0),
                output_field=IntegerField(),
            )
        else:
            breaks = Case(
                When(seq__lt=_after(self.outline, offset), then=_breaks("text")),
                default=Value(0),
                output_field=IntegerField(),
            )
        total = self.chunks_of.aggregate(breaks=Sum(breaks))["breaks"] or 0
        return total + 1

    def window(self, *, start: int, end: int, whole_lines_only: bool = False) -> LogWindow:
        """The text in [start, end), starting at a line's start unless ``start`` is 0.

        ``whole_lines_only`` drops a last line still being written (for live tails).
        """
        start, end = max(0, min(start, self.size)), max(0, min(end, self.size))
        text = self.read(start, end) if end > start else ""
        if start > 0:
            cut = text.find("\n")
            if 0 <= cut < len(text) - 1:
                text, start = text[cut + 1 :], start + cut + 1
        if whole_lines_only and text and not text.endswith("\n"):
            cut = text.rfind("\n")
            end = start + cut + 1
            text = text[: cut + 1]
        return LogWindow(text=text, start=start, end=end, first_line=self.line_at(start))

    def tail(self, *, chars: int = WINDOW_CHARS, whole_lines_only: bool = False) -> LogWindow:
        size = self.size
        return self.window(start=size - chars, end=size, whole_lines_only=whole_lines_only)

    def before(self, offset: int, *, chars: int = WINDOW_CHARS) -> LogWindow:
        return self.window(start=offset - chars, end=offset)

    def after(self, offset: int, *, first_line: int, whole_lines_only: bool) -> LogWindow:
        """What was written from ``offset`` on; the caller knows its line number (live tails)."""
        size = self.size
        start = max(0, min(offset, size))
        text = self.read(start, size) if size > start else ""
        if whole_lines_only and text and not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]
        return LogWindow(text=text, start=start, end=start + len(text), first_line=first_line)

    def stream(self) -> Iterator[str]:
        """The whole log, chunk by chunk (downloads)."""
        yield from self.chunks_of.order_by("seq").values_list("text", flat=True).iterator(100)


def _by_seq(values: dict, *, default):
    whens = [When(seq=seq, then=Value(value)) for seq, value in values.items()]
    return Case(*whens, default=default, output_field=IntegerField())


def _after(outline: list[Chunk], offset: int) -> int:
    """The seq of the first chunk starting at or after ``offset`` (or past the last one)."""
    for chunk in outline:
        if chunk.start >= offset:
            return chunk.seq
    return outline[-1].seq + 1 if outline else 0
