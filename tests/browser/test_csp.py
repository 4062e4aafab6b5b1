"""The Content-Security-Policy in a real browser: every page works under it, nothing is refused.

Chromium reports each refused script, style, image, frame or form as a
``securitypolicyviolation`` event and a console message: the test collects
both while a superuser goes through the staff pages, the admin and the API
docs, and checks that the scripts did their work (graph drawn, timeline bars
placed, live refresh, Swagger UI rendered) under the policy.
"""

import re
import time
from urllib.parse import urlsplit

import pytest
from django_celery_beat.models import CrontabSchedule
from playwright.sync_api import expect

from accounts.testing import make_user
from runs.testing import use_workflows
from tests.browser.conftest import shot
from workflows.models import Workflow

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"
NEXT_HTMX_SETTLE = """() => new Promise((settled) =>
  document.addEventListener("htmx:afterSettle", () => setTimeout(settled), { once: true }))"""


@pytest.fixture
def run(tmp_path):
    """A running run of the page tests' "report" workflow (no worker: it stays running)."""
    from tests.pages_world import make_run, write_workflows

    with use_workflows(write_workflows(tmp_path / "flows")):
        make_user("root", superuser=True, password=PASSWORD)
        workflow = Workflow.objects.get(slug="report")
        yield make_run(workflow, state="running", tasks={"fetch": "success", "add_up": "running"})


def visit(page, url: str) -> None:
    page.refused.clear()
    response = page.goto(url)
    assert response.status == 200, url
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, url
    page.wait_for_load_state("load")


def wait_until(page, condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(50)  # lets Playwright deliver the page's events


def refused(page) -> list[str]:
    return page.refused + page.evaluate("window.cspViolations")


def log_in(page, live_server):
    visit(page, f"{live_server.url}/accounts/login/")
    page.get_by_label("Username or email").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_the_staff_pages_run_their_scripts_and_nothing_is_refused(watched, live_server, run):
    page, base = watched, live_server.url
    log_in(page, live_server)
    seen = {}
    for path in (
        "/",
        "/workflows/report/",
        "/workflows/report/run/",
        "/runs/",
        "/runs/{run}/tasks/fetch/log/",
        "/tokens/",
        "/workflows/report/access/",
        "/audit/",
        "/workflows/report/history/",
    ):
        visit(page, base + path.format(run=run.pk))
        seen[path] = refused(page)
        shot(page, re.sub(r"\W+", "_", path).strip("_") or "home")

    visit(page, f"{base}/runs/{run.pk}/")
    expect(page.locator(".graph svg .node")).to_have_count(2)  # graph.js drew the graph
    bar = page.locator(".gantt-bar").first
    placed = bar.evaluate("bar => [bar.style.left, bar.style.width]")  # by timeline.js
    data = [float(bar.get_attribute(f"data-{side}")) for side in ("left", "width")]
    assert placed == [f"{value:g}%" for value in data]
    # The live page refreshes itself through htmx (no eval), the timeline out of band:
    # once htmx has settled the new content, its bars are placed again.
    page.evaluate(NEXT_HTMX_SETTLE)
    expect(bar).to_have_attribute("style", re.compile(r"left: [\d.]+%; width: [\d.]+%"))
    page.wait_for_load_state("load")
    seen["/runs/<id>/"] = refused(page)
    shot(page, "run")

    assert {path: found for path, found in seen.items() if found} == {}


def test_the_admin_and_the_api_docs_work_under_the_policy(watched, live_server, run):
    page, base = watched, live_server.url
    log_in(page, live_server)
    seen = {}
    CrontabSchedule.objects.create(minute="0", hour="3")
    for path in (
        "/admin/",
        "/admin/workflows/workflow/",
        f"/admin/workflows/workflow/{run.workflow_id}/change/",
        "/admin/auth/user/add/",
        "/admin/django_celery_beat/periodictask/add/",
    ):
        visit(page, base + path)
        seen[path] = refused(page)
    # django-celery-beat's script, moved to a file, still says the crontab in words.
    page.locator("#id_crontab").select_option(index=1)
    expect(page.locator(".field-crontab .help")).to_contain_text("Translation: At 03:00")

    visit(page, f"{base}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Baton")
    page.locator(".opblock-summary").first.click()  # an operation opens, with its examples
    expect(page.locator(".opblock-body").first).to_be_visible()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    expect(page.locator(".responses-wrapper .live-responses-table")).to_be_visible()
    seen["/api/v1/docs"] = refused(page)
    shot(page, "api-docs")

    assert {path: found for path, found in seen.items() if found} == {}


@pytest.mark.parametrize("allowed", [True, False])
def test_the_google_button_reaches_google_only_with_google_in_form_action(
    watched, live_server, settings, allowed
):
    """The button posts to Baton, which redirects to Google: Chromium checks that
    redirect against form-action (what settings add when GOOGLE_CLIENT_ID is set)."""
    settings.SOCIALACCOUNT_PROVIDERS = {
        "google": {"APPS": [{"client_id": "test-client", "secret": "s"}], "SCOPE": ["email"]}
    }
    directives = dict(settings.CONTENT_SECURITY_POLICY["DIRECTIVES"])
    directives["form-action"] = ["'self'"] + (["https://accounts.google.com"] if allowed else [])
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": directives}
    page = watched
    reached = []
    page.route(
        "https://accounts.google.com/**",
        lambda route: reached.append(route.request.url) or route.fulfill(body="Google"),
    )

    visit(page, f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Sign in with Google").click()

    if allowed:
        expect(page).to_have_url(re.compile(r"^https://accounts\.google\.com/"))
        assert urlsplit(reached[0]).path == "/o/oauth2/v2/auth"
        assert refused(page) == []
    else:
        wait_until(page, lambda: any("form-action" in text for text in page.refused))
        assert reached == []
        assert "accounts.google.com" not in page.url
