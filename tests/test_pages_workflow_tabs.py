"""A workflow's tabs: the calendar of its runs, its tasks' durations, its current code."""

import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from runs.models import TaskRun, WorkflowRun
from workflows.insight_views import calendar_rows

from .pages_world import make_run, page_world


@pytest.fixture
def world(db, tmp_path):
    with page_world(tmp_path) as built:
        yield built


def page_of(client, user, name, query="", slug="report"):
    client.force_login(user)
    return client.get(reverse(f"workflows:{name}", args=[slug]) + query).content.decode()


def test_the_calendar_colours_each_day_by_its_runs_and_links_to_them(client, world):
    day = timezone.localdate() - timedelta(days=2)
    if day.year != timezone.localdate().year:
        day = timezone.localdate()
    noon = timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=12)
    for state in ("success", "failed", "success"):
        run = make_run(world.report, state=state)
        WorkflowRun.objects.filter(pk=run.pk).update(created_at=noon)

    page = page_of(client, world.viewer, "calendar")

    iso = day.isoformat()
    cell = re.search(rf'<a class="day st-(\w+)" data-day="{iso}" href="([^"]+)"', page)
    assert cell.group(1) == "failed"
    assert cell.group(2) == f"/runs/?workflow=report&amp;since={iso}&amp;until={iso}"
    assert "3 runs this year." in page
    assert page.count('class="day st-failed"') == 1
    assert "Days in your time zone (UTC)" in page


def test_the_calendar_of_another_year_is_empty_and_a_silly_year_is_this_one(client, world):
    make_run(world.report)
    this_year = timezone.localdate().year

    earlier = page_of(client, world.viewer, "calendar", f"?year={this_year - 3}")
    silly = page_of(client, world.viewer, "calendar", "?year=99999")

    assert "0 runs this year." in earlier and f"<h2>{this_year - 3}</h2>" in earlier
    assert f"<h2>{this_year}</h2>" in silly


def test_calendar_rows_cover_the_year_in_week_columns():
    rows = calendar_rows(2026, {})

    assert len(rows) == 7 and len({len(row) for row in rows}) == 1
    days = [cell.day for row in rows for cell in row if cell is not None]
    assert len(days) == 365 and min(days).isoformat() == "2026-01-01"


def test_the_durations_tab_draws_one_bar_per_run_for_each_task(client, world):
    for seconds in (10, 30, 20):
        run = make_run(world.report)
        task = TaskRun.objects.get(run=run, task_name="fetch")
        TaskRun.objects.filter(pk=task.pk).update(
            finished_at=task.started_at + timedelta(seconds=seconds)
        )

    page = page_of(client, world.viewer, "durations")

    fetch = page.split('data-task="fetch"', 1)[1].split("</svg>", 1)[0]
    assert fetch.count("<rect") == 3
    assert 'height="48" class="st-success"><title>#2 · Succeeded · 30 s</title>' in fetch
    assert "3 runs: shortest 10 s, median 20 s, longest 30 s" in fetch
    assert 'data-task="add_up"' in page and 'data-task="send"' in page


def test_the_durations_tab_without_runs_says_so(client, world):
    page = page_of(client, world.viewer, "durations")

    assert "No run yet" in page


def test_the_code_tab_shows_the_current_version(client, world):
    page = page_of(client, world.viewer, "code")

    assert 'aria-current="page" class="current">Code<' in page
    assert '<span class="nf">report</span>' in page


def test_the_tabs_are_hidden_from_strangers(client, world):
    client.force_login(world.stranger)

    for name in ("calendar", "durations", "code"):
        assert client.get(reverse(f"workflows:{name}", args=["report"])).status_code == 404


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


# Session, user; the workflow (workflow_for); the viewer's access (4); the runs of the
# year counted per day and state (one GROUP BY).
CALENDAR_QUERIES = 8
# Session, user; the workflow; the access (4); the last 50 runs' ids; their task runs.
DURATIONS_QUERIES = 9


def test_the_calendar_and_durations_run_a_constant_number_of_queries(client, world):
    client.force_login(world.viewer)
    for _ in range(3):
        make_run(world.report)
    calendar = reverse("workflows:calendar", args=["report"])
    durations = reverse("workflows:durations", args=["report"])
    assert count_queries(client, calendar) == CALENDAR_QUERIES
    assert count_queries(client, durations) == DURATIONS_QUERIES

    for _ in range(20):
        make_run(world.report)

    assert count_queries(client, calendar) == CALENDAR_QUERIES
    assert count_queries(client, durations) == DURATIONS_QUERIES
