"""The code pages: which version a run ran, its Code tab, a workflow's versions, load errors."""

import html
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from runs.models import WorkflowRun
from workflows.code_display import diff_of, style_sheet
from workflows.models import Workflow, WorkflowLoadError, WorkflowVersion

from .pages_world import make_run, page_world

V1 = '''from workflows import task, workflow


@task
def export(day: str) -> int:
    return 1


@workflow
def report(day: str = "today"):
    """Export the bookings."""
    export(day)
'''
V2 = V1.replace("    return 1\n", "    rows = query(day)\n    return len(rows)\n")


@pytest.fixture
def world(db, tmp_path):
    with page_world(tmp_path) as built:
        # The tests make their own versions, whatever the sync recorded.
        Workflow.objects.update(current_version=None)
        WorkflowVersion.objects.all().delete()
        yield built


def make_version(
    workflow,
    source: str = V1,
    *,
    origin: str = "git",
    revision: str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
    message: str = "Fix the export query\n\nThe join missed the refunds.",
    author: str = "Ada Lovelace <ada@example.com>",
    committed_at: datetime | None = None,
    seen_ago: timedelta = timedelta(hours=1),
    current: bool = True,
) -> WorkflowVersion:
    version = WorkflowVersion.objects.create(
        workflow=workflow,
        code_hash=f"{abs(hash((source, revision))):064x}"[:64],
        source=source,
        source_path="billing/workflows.py",
        origin=origin,
        revision=revision,
        commit_author=author if origin == "git" else "",
        commit_message=message if origin == "git" else "",
        committed_at=committed_at if origin == "git" else None,
    )
    WorkflowVersion.objects.filter(pk=version.pk).update(first_seen_at=timezone.now() - seen_ago)
    version.refresh_from_db()
    if current:
        Workflow.objects.filter(pk=workflow.pk).update(current_version=version)
    return version


def pinned(run, version):
    WorkflowRun.objects.filter(pk=run.pk).update(version=version)
    run.refresh_from_db()
    return run


def get(client, user, url):
    client.force_login(user)
    return client.get(url)


def text_of(response) -> str:
    """The page's text, tags removed and spaces collapsed."""
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split()))


# --- The run page says which version it ran -------------------------------------------------


def test_the_run_page_names_the_commit_of_its_version_in_plain_words(client, world):
    committed = datetime(2026, 12, 3, 14, 5, tzinfo=timezone.get_current_timezone())
    run = pinned(make_run(world.report), make_version(world.report, committed_at=committed))

    page = text_of(get(client, world.viewer, reverse("runs:detail", args=[run.pk])))

    assert "Code Code of 3 Dec 14:05, commit a1b2c3d: Fix the export query" in page
    assert "Started before a code change" not in page


def test_the_version_line_and_code_tab_speak_french(client, world):
    committed = datetime(2026, 12, 3, 14, 5, tzinfo=timezone.get_current_timezone())
    run = pinned(make_run(world.report), make_version(world.report, committed_at=committed))
    client.force_login(world.viewer)

    run_page = client.get(reverse("runs:detail", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    code_page = client.get(reverse("runs:code", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="fr")

    assert "Code du 3 Déc 14:05, commit a1b2c3d : Fix the export query" in text_of(run_page)
    assert "C’est la première version de ce workflow" in text_of(code_page)


@pytest.mark.parametrize(
    "origin, words", [("folder", "(folder)"), ("app", "(deployed with the app)")]
)
def test_the_run_page_says_where_code_not_from_git_came_from(client, world, origin, words):
    version = make_version(world.report, origin=origin, revision="f" * 64)
    run = pinned(make_run(world.report), version)
    seen = timezone.localtime(version.first_seen_at)

    page = text_of(get(client, world.viewer, reverse("runs:detail", args=[run.pk])))

    assert f"Code of {seen.day} {seen:%b %H:%M} {words}" in page


def test_a_run_from_before_versions_says_its_version_was_not_recorded(client, world):
    run = make_run(world.report)

    response = get(client, world.viewer, reverse("runs:detail", args=[run.pk]))

    assert "not recorded (it started before Baton kept versions)" in text_of(response)


def test_a_running_run_started_before_a_code_change_says_it_keeps_its_code(client, world):
    v1 = make_version(world.report, seen_ago=timedelta(hours=2), current=False)
    run = pinned(make_run(world.report, state="running", ago=timedelta(minutes=30)), v1)
    make_version(world.report, V2, revision="b" * 40, seen_ago=timedelta(minutes=10))

    page = get(client, world.viewer, reverse("runs:detail", args=[run.pk])).content.decode()

    assert re.search(
        r'data-testid="code-changed">Started before a code change: it runs the code it started '
        r"with\.",
        page,
    )


def test_the_live_part_of_the_run_page_says_so_once_the_code_changes(client, world):
    v1 = make_version(world.report, seen_ago=timedelta(hours=2))
    run = pinned(make_run(world.report, state="running", ago=timedelta(minutes=30)), v1)
    client.force_login(world.viewer)
    url = reverse("runs:detail", args=[run.pk])
    before = client.get(url, HTTP_HX_REQUEST="true").content.decode()

    make_version(world.report, V2, revision="b" * 40, seen_ago=timedelta(seconds=1))  # a deploy
    after = client.get(url, HTTP_HX_REQUEST="true").content.decode()

    assert 'data-testid="code-changed"' not in before
    assert 'data-testid="code-changed">Started before a code change: it runs the code' in after


def test_a_run_that_ended_after_a_code_change_says_it_ran_its_own_code(client, world):
    v1 = make_version(world.report, seen_ago=timedelta(hours=2), current=False)
    # Started 5 minutes ago, ended 42 s later; v2 appeared 4.5 minutes ago, in between.
    run = pinned(make_run(world.report, state="success", ago=timedelta(minutes=5)), v1)
    make_version(world.report, V2, revision="b" * 40, seen_ago=timedelta(minutes=4, seconds=50))

    page = text_of(get(client, world.viewer, reverse("runs:detail", args=[run.pk])))

    assert "Started before a code change: it ran the code it started with." in page


def test_a_run_that_ended_before_the_next_version_says_nothing_of_it(client, world):
    v1 = make_version(world.report, seen_ago=timedelta(hours=2), current=False)
    run = pinned(make_run(world.report, state="success", ago=timedelta(minutes=30)), v1)
    make_version(world.report, V2, revision="b" * 40, seen_ago=timedelta(minutes=10))

    page = text_of(get(client, world.viewer, reverse("runs:detail", args=[run.pk])))

    assert "Started before a code change" not in page
    assert "commit a1b2c3d" in page  # still its own version, not the current one


# As tests/test_pages_queries.py's run page (9), plus the run's version, with whether the
# code changed while it ran (one query with an EXISTS).
RUN_PAGE_WITH_VERSION_QUERIES = 10


def test_the_version_line_costs_the_run_page_one_query(client, world, django_assert_num_queries):
    v1 = make_version(world.report, seen_ago=timedelta(hours=2), current=False)
    run = pinned(make_run(world.report, state="running", ago=timedelta(minutes=30)), v1)
    make_version(world.report, V2, revision="b" * 40, seen_ago=timedelta(minutes=10))
    client.force_login(world.viewer)

    with django_assert_num_queries(RUN_PAGE_WITH_VERSION_QUERIES):
        page = client.get(reverse("runs:detail", args=[run.pk])).content.decode()

    assert 'data-testid="code-changed"' in page


# --- The Code tab ---------------------------------------------------------------------------


def test_the_code_tab_shows_the_runs_source_highlighted_and_the_diff_with_the_previous(
    client, world
):
    make_version(world.report, V1, revision="a" * 40, seen_ago=timedelta(hours=2))
    v2 = make_version(world.report, V2, revision="b" * 40, message="Count the rows")
    run = pinned(make_run(world.report), v2)

    response = get(client, world.viewer, reverse("runs:code", args=[run.pk]))
    page = response.content.decode()

    assert response.status_code == 200
    assert (
        '<span class="k">def</span><span class="w"> </span><span class="nf">export</span>' in page
    )
    assert '<a id="line-13" name="line-13"></a>' in page  # V2 has 13 lines, numbered
    assert '<span class="d-removed">-    return 1\n</span>' in page
    assert '<span class="d-added">+    rows = query(day)\n</span>' in page
    assert '<span class="d-added">+    return len(rows)\n</span>' in page
    assert '<span class="d-context">     return 1' not in page
    assert "2 lines added" in text_of(response) and "1 line removed" in text_of(response)
    assert "Compared with: Code of" in text_of(response)
    assert "css/code.css" in page
    assert "style=" not in page  # the Content-Security-Policy refuses inline styles


def test_the_code_tab_of_an_older_version_links_to_the_current_code(client, world):
    old = make_version(world.report, V1, revision="a" * 40, seen_ago=timedelta(hours=2))
    run = pinned(make_run(world.report), old)
    current = make_version(world.report, V2, revision="b" * 40)

    page = get(client, world.viewer, reverse("runs:code", args=[run.pk])).content.decode()

    assert 'data-testid="not-current"' in page
    assert reverse("workflows:version", args=["report", current.pk]) in page
    assert '<span class="d-added">' not in page  # its own diff: against nothing before it


def test_the_code_tab_of_a_first_version_says_there_is_nothing_before_it(client, world):
    run = pinned(make_run(world.report), make_version(world.report))

    page = get(client, world.viewer, reverse("runs:code", args=[run.pk])).content.decode()

    assert 'data-testid="no-previous"' in page
    assert 'class="diff"' not in page


def test_the_code_tab_of_a_run_without_a_version_says_so(client, world):
    run = make_run(world.report)

    response = get(client, world.viewer, reverse("runs:code", args=[run.pk]))

    assert response.status_code == 200
    assert "started before Baton kept versions" in text_of(response)


def test_the_code_tab_escapes_the_source(client, world):
    source = V1 + '\nHTML = "<script>alert(1)</script>"\n'
    run = pinned(make_run(world.report), make_version(world.report, source))

    page = get(client, world.viewer, reverse("runs:code", args=[run.pk])).content.decode()

    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert" in page


def test_the_code_tab_answers_404_to_whoever_may_not_see_the_workflow(client, world):
    run = pinned(make_run(world.report), make_version(world.report))

    assert get(client, world.stranger, reverse("runs:code", args=[run.pk])).status_code == 404
    assert get(client, world.viewer, reverse("runs:code", args=[run.pk + 999])).status_code == 404


# The Code tab: session, user; the run with its workflow (run_for); the viewer's access (4);
# the run's version; the version before it.
CODE_PAGE_QUERIES = 9


def test_the_code_tab_runs_a_pinned_number_of_queries(client, world, django_assert_num_queries):
    make_version(world.report, V1, revision="a" * 40, seen_ago=timedelta(hours=2))
    run = pinned(make_run(world.report), make_version(world.report, V2, revision="b" * 40))
    client.force_login(world.viewer)

    with django_assert_num_queries(CODE_PAGE_QUERIES):
        assert client.get(reverse("runs:code", args=[run.pk])).status_code == 200


# --- The workflow's versions ----------------------------------------------------------------


def test_the_workflow_page_lists_its_versions_newest_first_with_their_runs(client, world):
    old = make_version(world.report, V1, revision="a" * 40, message="First cut", current=False)
    new = make_version(
        world.report, V2, revision="b" * 40, message="Count the rows", seen_ago=timedelta(0)
    )
    for _ in range(2):
        pinned(make_run(world.report), old)
    pinned(make_run(world.report), new)

    response = get(client, world.viewer, reverse("workflows:detail", args=["report"]))
    page = response.content.decode()
    text = text_of(response)

    assert text.index("commit bbbbbbb: Count the rows") < text.index("commit aaaaaaa: First cut")
    assert re.search(r"Count the rows\s*</a> <span class=\"badge\">Current</span>", page)
    assert re.search(
        r"First cut.*?<td>Ada Lovelace &lt;ada@example.com&gt;</td>\s*<td>2</td>", page, re.S
    )
    assert re.search(r"Count the rows.*?<td>1</td>", page, re.S)
    assert reverse("workflows:version", args=["report", old.pk]) in page


def test_the_workflow_page_shows_the_20_newest_versions(client, world):
    for number in range(22):
        make_version(
            world.report,
            f"# {number}\n",
            revision=f"{number:040x}",
            seen_ago=timedelta(minutes=number),
        )

    response = get(client, world.viewer, reverse("workflows:detail", args=["report"]))

    assert response.content.decode().count("/workflows/report/versions/") == 20
    assert "Only the 20 newest versions are shown." in text_of(response)


def test_a_version_page_shows_its_source_and_its_diff(client, world):
    make_version(world.report, V1, revision="a" * 40, seen_ago=timedelta(hours=2))
    v2 = make_version(world.report, V2, revision="b" * 40, current=False)

    response = get(client, world.viewer, reverse("workflows:version", args=["report", v2.pk]))
    page = response.content.decode()

    assert response.status_code == 200
    assert '<span class="d-added">+    return len(rows)\n</span>' in page
    assert "This is not the code the workflow runs now" in text_of(response)


def test_a_version_page_answers_404_for_another_workflows_version_or_a_stranger(client, world):
    version = make_version(world.report)
    other = make_version(world.cleanup, revision="c" * 40)

    url = reverse("workflows:version", args=["report", version.pk])
    assert get(client, world.stranger, url).status_code == 404
    wrong = reverse("workflows:version", args=["report", other.pk])
    assert get(client, world.root, wrong).status_code == 404


# Session, user; the workflow (workflow_for); the viewer's access (4); the version; the one before.
VERSION_PAGE_QUERIES = 9


def test_a_version_page_runs_a_pinned_number_of_queries(client, world, django_assert_num_queries):
    make_version(world.report, V1, revision="a" * 40, seen_ago=timedelta(hours=2))
    version = make_version(world.report, V2, revision="b" * 40)
    client.force_login(world.viewer)

    with django_assert_num_queries(VERSION_PAGE_QUERIES):
        client.get(reverse("workflows:version", args=["report", version.pk]))


# --- Load errors ----------------------------------------------------------------------------


@pytest.fixture
def broken(world):
    """The file of "report" failed to load at the last sync."""
    return WorkflowLoadError.objects.create(
        file=world.report.source_file,
        message="page_workflows.py:12: NameError: name 'quer' is not defined",
        traceback="Traceback (most recent call last):\n  ...\nNameError: name 'quer'",
    )


def test_the_workflow_page_shows_its_files_load_error_to_editors(client, world, broken):
    page = text_of(get(client, world.editor, reverse("workflows:detail", args=["report"])))

    assert "Its file could not be loaded:" in page
    assert "NameError: name 'quer' is not defined" in page
    assert "keeps running its last good version" in page


def test_the_workflow_page_hides_load_errors_from_viewers(client, world, broken):
    page = get(client, world.viewer, reverse("workflows:detail", args=["report"])).content.decode()

    assert "NameError" not in page


def test_a_load_error_of_a_file_in_a_new_checkout_matches_by_its_path(client, world):
    make_version(world.report)  # source_path billing/workflows.py
    WorkflowLoadError.objects.create(
        file="/var/baton/checkouts/0123abc/billing/workflows.py", message="SyntaxError at line 3"
    )
    WorkflowLoadError.objects.create(file="/elsewhere/other.py", message="unrelated failure")

    page = text_of(get(client, world.owner, reverse("workflows:detail", args=["report"])))

    assert "SyntaxError at line 3" in page
    assert "unrelated failure" not in page


def test_the_load_errors_page_lists_each_file_with_its_workflows(client, world, broken):
    response = get(client, world.editor, reverse("workflows:load_errors"))
    page = response.content.decode()

    assert response.status_code == 200
    assert page.count('data-testid="load-error"') == 1
    assert "NameError: name &#x27;quer&#x27; is not defined" in page
    assert "Traceback (most recent call last)" in page
    assert reverse("workflows:detail", args=["report"]) in page  # the workflow it declares
    assert reverse("workflows:detail", args=["cleanup"]) not in page  # the editor may not see it


def test_the_load_errors_page_hides_the_errors_of_files_whose_workflows_one_may_not_see(
    client, world
):
    # "cleanup" (hidden from the editor) in a file of its own, and a file new to Baton.
    Workflow.objects.filter(pk=world.cleanup.pk).update(source_file="/srv/flows/cleanup_only.py")
    WorkflowLoadError.objects.create(file="/srv/flows/cleanup_only.py", message="cleanup is broken")
    WorkflowLoadError.objects.create(file="/srv/flows/brand_new.py", message="new file is broken")

    editor_page = text_of(get(client, world.editor, reverse("workflows:load_errors")))
    editor_home = text_of(get(client, world.editor, "/"))
    root_page = text_of(get(client, world.root, reverse("workflows:load_errors")))

    assert "new file is broken" in editor_page  # no workflow yet: every developer sees it
    assert "cleanup is broken" not in editor_page and "cleanup_only" not in editor_page
    assert "1 workflow file could not be loaded" in editor_home
    assert "cleanup is broken" in root_page and "new file is broken" in root_page


def test_the_load_errors_page_refuses_those_who_change_no_workflow(client, world, broken):
    response = get(client, world.viewer, reverse("workflows:load_errors"))

    assert response.status_code == 403
    assert "NameError" not in response.content.decode()


def test_the_load_errors_page_says_when_every_file_loaded(client, world):
    response = get(client, world.root, reverse("workflows:load_errors"))

    assert 'data-testid="no-load-errors"' in response.content.decode()


def test_the_home_page_links_developers_to_the_load_errors(client, world, broken):
    editor_home = get(client, world.editor, "/").content.decode()
    viewer_home = get(client, world.viewer, "/").content.decode()

    assert 'data-testid="load-errors-link"' in editor_home
    assert "1 workflow file could not be loaded" in editor_home
    assert reverse("workflows:load_errors") in editor_home
    assert 'data-testid="load-errors-link"' not in viewer_home


def test_the_home_page_has_no_load_errors_link_when_all_files_loaded(client, world):
    assert 'data-testid="load-errors-link"' not in get(client, world.root, "/").content.decode()


# --- Highlighting and diff ------------------------------------------------------------------


def test_the_static_code_css_holds_pygments_current_rules():
    css = (Path(settings.BASE_DIR) / "static" / "css" / "code.css").read_text()

    assert style_sheet() in css


def test_a_removed_line_starting_with_dashes_is_a_removed_line_not_a_file_name():
    diff = diff_of("a\n-- x\nb\n", "a\nb\n", old_name="old.py", new_name="new.py")

    kinds = [(line.kind, line.text) for line in diff.lines]
    assert kinds[:2] == [("file", "--- old.py"), ("file", "+++ new.py")]
    assert ("removed", "--- x") in kinds
    assert (diff.added, diff.removed) == (0, 1)


def test_same_text_gives_an_unchanged_diff():
    assert diff_of(V1, V1, old_name="a", new_name="b").unchanged
