"""Showing a version's source: highlighted with Pygments, and its diff against the one before.

Both render with CSS classes only (static/css/code.css), never inline styles:
the pages' Content-Security-Policy refuses them.
"""

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.html import format_html
from django.utils.safestring import SafeString

# Pygments (~1.5 MiB resident) is imported by the first code page shown, not by every web process.
if TYPE_CHECKING:
    from pygments.formatters import HtmlFormatter

# The CSS class of the highlighted block; static/css/code.css styles it.
CSS_CLASS = "source"
# Past this size a file is shown as plain text: highlighting a huge file takes seconds.
MAX_HIGHLIGHTED_CHARS = 300_000
# Past this many lines in either side, the diff is not computed (it grows as their product).
MAX_DIFF_LINES = 20_000
DIFF_CONTEXT_LINES = 3


def formatter() -> "HtmlFormatter":
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(cssclass=CSS_CLASS, linenos="table", lineanchors="line", wrapcode=True)


def highlighted(source: str) -> SafeString:
    """The source as HTML, highlighted as Python, with line numbers that link to each line."""
    if len(source) > MAX_HIGHLIGHTED_CHARS:
        return format_html('<div class="{}"><pre>{}</pre></div>', CSS_CLASS, source)
    from pygments import highlight
    from pygments.lexers import PythonLexer

    # Pygments escapes the source itself.
    return SafeString(highlight(source, PythonLexer(), formatter()))  # noqa: S308


def style_sheet() -> str:
    """The highlighting CSS, as written to static/css/code.css (see its first line)."""
    return formatter().get_style_defs(f".{CSS_CLASS}")


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "added", "removed", "context", "hunk" (the @@ line) or "file" (---/+++)
    text: str


@dataclass(frozen=True)
class Diff:
    lines: list[DiffLine]
    added: int
    removed: int
    too_big: bool = False

    @property
    def unchanged(self) -> bool:
        return not self.too_big and not self.lines


def diff_of(old: str, new: str, *, old_name: str, new_name: str) -> Diff:
    """The unified diff from ``old`` to ``new``, each line tagged for its CSS class."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    if max(len(old_lines), len(new_lines)) > MAX_DIFF_LINES:
        return Diff(lines=[], added=0, removed=0, too_big=True)
    raw = difflib.unified_diff(
        old_lines, new_lines, old_name, new_name, n=DIFF_CONTEXT_LINES, lineterm=""
    )
    # The first two lines name the files; after them "--- x" is a removed line "-- x".
    lines = [
        DiffLine(kind="file" if n < 2 else _kind(line), text=line) for n, line in enumerate(raw)
    ]
    return Diff(
        lines=lines,
        added=sum(line.kind == "added" for line in lines),
        removed=sum(line.kind == "removed" for line in lines),
    )


def _kind(line: str) -> str:
    if line.startswith("@@"):
        return "hunk"
    if line.startswith("+"):
        return "added"
    if line.startswith("-"):
        return "removed"
    return "context"
