"""The code pages in a real browser: Pygments' classes and the diff are styled, nothing refused.

The pages carry no inline style (the Content-Security-Policy refuses them): the
colours come from static/css/code.css, so the test reads the computed styles.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.testing import make_user
from runs.models import WorkflowRun
from runs.testing import use_workflows
from tests.browser.conftest import shot
from tests.browser.test_csp import PASSWORD, log_in, refused, visit
from workflows.models import Workflow, WorkflowVersion

pytestmark = pytest.mark.django_db(transaction=True)

OLD = "def report():\n    return 1\n"
NEW = "def report():\n    rows = 2\n    return rows\n"


@pytest.fixture
def pinned_run(tmp_path):
    """A run of "report" pinned to a version whose code changed since the one before."""
    from tests.pages_world import make_run, write_workflows

    with use_workflows(write_workflows(tmp_path / "flows")):
        make_user("root", superuser=True, password=PASSWORD)
        workflow = Workflow.objects.get(slug="report")
        Workflow.objects.filter(pk=workflow.pk).update(current_version=None)
        WorkflowVersion.objects.filter(workflow=workflow).delete()  # the test's versions only
        for number, source in enumerate((OLD, NEW)):
            version = WorkflowVersion.objects.create(
                workflow=workflow, code_hash=f"{number}" * 64, source=source, origin="folder"
            )
            seen = timezone.now() - timedelta(hours=2 - number)
            WorkflowVersion.objects.filter(pk=version.pk).update(first_seen_at=seen)
        run = make_run(workflow, state="success")
        WorkflowRun.objects.filter(pk=run.pk).update(version=version)
        yield run


def color(locator) -> str:
    return locator.evaluate("node => getComputedStyle(node).color")


def background(locator) -> str:
    return locator.evaluate("node => getComputedStyle(node).backgroundColor")


def test_the_code_tab_is_highlighted_and_its_diff_coloured_under_the_policy(
    watched, live_server, pinned_run
):
    page = watched
    log_in(page, live_server)

    visit(page, f"{live_server.url}/runs/{pinned_run.pk}/code/")

    keyword = page.locator(".source .k").first
    expect(keyword).to_have_text("def")
    assert color(keyword) == "rgb(0, 128, 0)"  # .source .k { color: #008000 }
    assert keyword.evaluate("node => getComputedStyle(node).fontWeight") == "700"
    added = page.locator(".diff .d-added").first
    expect(added).to_have_text("+    rows = 2")
    assert background(added) == "rgb(230, 255, 236)"  # #e6ffec
    assert background(page.locator(".diff .d-removed").first) == "rgb(255, 235, 233)"
    expect(page.get_by_role("link", name="Code", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    shot(page, "code-tab")

    visit(page, f"{live_server.url}/workflows/report/")
    expect(page.locator("table.versions tbody tr")).to_have_count(2)
    shot(page, "workflow-versions")
    visit(page, f"{live_server.url}/runs/{pinned_run.pk}/")
    expect(page.get_by_test_id("run-version")).to_contain_text("(folder)")
    shot(page, "run")
    visit(page, f"{live_server.url}/load-errors/")
    expect(page.get_by_text("Every workflow file loaded at the last sync.")).to_be_visible()

    assert refused(page) == []
