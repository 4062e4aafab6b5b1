"""Small charts drawn on the server as SVG (no script, no CDN, allowed by the page's CSP).

{% load charts %}
{% duration_chart bars %}   one bar per run of a task, as tall as it took, coloured by state
"""

import statistics
from datetime import timedelta

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .baton import duration, state_words

register = template.Library()

BAR_WIDTH = 6
BAR_STEP = 8
HEIGHT = 48
NOT_TIMED = 2  # the stub drawn for a run whose task did not start, or is still going


def _seconds_words(seconds: float) -> str:
    return duration(timedelta(seconds=seconds))


@register.simple_tag
def duration_chart(bars):
    """An SVG bar chart of a task's durations, with a summary for screen readers."""
    timed = [bar.seconds for bar in bars if bar.seconds is not None]
    longest = max(timed, default=0) or 1
    rects = []
    for index, bar in enumerate(bars):
        height = NOT_TIMED if bar.seconds is None else max(1, round(HEIGHT * bar.seconds / longest))
        took = _seconds_words(bar.seconds) if bar.seconds is not None else "—"
        label = f"#{bar.number} · {state_words(bar.state)} · {took}"
        rects.append((index * BAR_STEP, HEIGHT - height, BAR_WIDTH, height, bar.state, label))
    drawn = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="st-{}"><title>{}</title></rect>',
        rects,
    )
    if timed:
        summary = ngettext(
            "%(count)s run: shortest %(low)s, median %(mid)s, longest %(high)s",
            "%(count)s runs: shortest %(low)s, median %(mid)s, longest %(high)s",
            len(timed),
        ) % {
            "count": len(timed),
            "low": _seconds_words(min(timed)),
            "mid": _seconds_words(statistics.median(timed)),
            "high": _seconds_words(max(timed)),
        }
    else:
        summary = _("No finished run yet")
    width = max(len(bars), 1) * BAR_STEP
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="{summary}" preserveAspectRatio="none">{bars}</svg>'
        '<span class="muted small chart-summary">{summary}</span>',
        w=width,
        h=HEIGHT,
        summary=summary,
        bars=drawn,
    )
