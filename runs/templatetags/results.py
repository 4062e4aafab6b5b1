"""Showing a task's JSON result on the run page: indented, long values folded.

{% load results %}
{% task_result task_run %}   <pre>…</pre>, or <details> with a one-line summary when long
"""

import json

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()

# Past these a result is folded behind its first line; past SHOWN_CHARACTERS it
# is cut (the API returns it whole), so one huge result cannot swamp the page.
FOLD_LINES = 12
FOLD_CHARACTERS = 600
SHOWN_CHARACTERS = 20_000
SUMMARY_CHARACTERS = 80


def pretty_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


@register.simple_tag
def task_result(task_run):
    """The result of ``task_run`` as indented JSON, folded when it is long."""
    text = pretty_json(task_run.result)
    cut = ""
    if len(text) > SHOWN_CHARACTERS:
        cut = _("… %(count)s more characters (the API gives the whole result).") % {
            "count": len(text) - SHOWN_CHARACTERS
        }
        text = text[:SHOWN_CHARACTERS]
    block = format_html('<pre class="result">{}</pre>{}', text, _cut_line(cut))
    if text.count("\n") < FOLD_LINES and len(text) <= FOLD_CHARACTERS:
        return block
    one_line = json.dumps(task_run.result, ensure_ascii=False)
    if len(one_line) > SUMMARY_CHARACTERS:
        one_line = one_line[: SUMMARY_CHARACTERS - 1] + "…"
    return format_html(
        '<details class="result"><summary><code>{}</code></summary>{}</details>',
        one_line,
        block,
    )


def _cut_line(cut: str):
    return format_html('<p class="muted small">{}</p>', cut) if cut else ""
