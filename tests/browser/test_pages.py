"""The staff pages in a real browser: find a workflow, run it, watch it, read its log.

A live server and in-process worker threads share the test database, so the
run the Operator starts really executes (the demo workflow ``sales_report``).
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.testing import give_role, make_user
from runs.testing import in_process_worker, use_workflows
from tests.browser.conftest import shot
from workflows.models import Workflow

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def demo(tmp_path):
    """The demo workflows, loaded and synced, with worker threads running their tasks."""
    with use_workflows(tmp_path), in_process_worker(threads=2):
        yield Workflow.objects.get(slug="sales_report")


def log_in(page, live_server, username: str, *, then: str = "/"):
    page.goto(f"{live_server.url}{then}")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    shot(page, "login")
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_an_operator_finds_runs_and_follows_a_workflow_to_its_log(page, live_server, demo):
    operator = make_user("olivia", password=PASSWORD)
    give_role(operator, "operator", demo)

    log_in(page, live_server, "olivia")
    page.get_by_label("Search").fill("sales")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Sales report", exact=True)).to_be_visible()
    shot(page, "home-search")

    page.get_by_role("link", name="Run Sales report").click()
    expect(page.get_by_role("heading", name="Run Sales report")).to_be_visible()
    page.get_by_label("Top n").fill("2.5")
    shot(page, "form")
    page.get_by_role("button", name="Start the run").click()

    # The message sits beside the field, and nothing started.
    expect(page.locator("#id_top_n_error")).to_have_text("Enter a whole number.")
    expect(page.get_by_label("Top n")).to_have_attribute("aria-invalid", "true")
    assert not demo.runs.exists()
    shot(page, "form-invalid")

    page.get_by_label("Top n").fill("2")
    page.get_by_role("button", name="Start the run").click()
    expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
    page.evaluate("window.batonNeverReloaded = true")
    shot(page, "run-started")

    expect(page.get_by_test_id("run-state")).to_have_text("Succeeded", timeout=20_000)
    assert page.evaluate("window.batonNeverReloaded === true"), "the run page reloaded"
    expect(page.locator('.graph [data-task="publish"]')).to_have_class(re.compile("st-success"))
    shot(page, "run-succeeded")

    page.locator('tr[data-task="fetch_sales"]').get_by_role("link", name="Log").click()
    expect(page.locator("#log-lines")).to_contain_text("Fetching sales for north")
    shot(page, "log")


def test_a_viewer_sees_no_run_button_and_is_refused_the_form(page, live_server, demo):
    viewer = make_user("victor", password=PASSWORD)
    give_role(viewer, "viewer", demo)

    log_in(page, live_server, "victor")
    expect(page.get_by_role("link", name="Sales report", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Run Sales report")).to_have_count(0)
    shot(page, "home")

    page.get_by_role("link", name="Sales report", exact=True).click()
    expect(page.get_by_role("heading", name="Sales report")).to_be_visible()
    expect(page.get_by_role("link", name="Run", exact=True)).to_have_count(0)
    shot(page, "workflow")

    response = page.goto(f"{live_server.url}/workflows/sales_report/run/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You are not allowed to do this")).to_be_visible()
    shot(page, "form-403")


def test_a_user_without_a_role_sees_no_workflow_and_gets_404(page, live_server, demo):
    make_user("nadia", password=PASSWORD)

    log_in(page, live_server, "nadia")
    expect(page.get_by_text("No workflow is shared with you yet")).to_be_visible()
    expect(page.get_by_role("link", name="Sales report", exact=True)).to_have_count(0)
    shot(page, "home")

    response = page.goto(f"{live_server.url}/workflows/sales_report/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="There is nothing here")).to_be_visible()
    shot(page, "workflow-404")


@pytest.fixture
def report_run(tmp_path):
    """A run of the page tests' "report" workflow, with people who may see it (no worker)."""
    from tests.pages_world import make_run, write_workflows

    with use_workflows(write_workflows(tmp_path / "flows")):
        workflow = Workflow.objects.get(slug="report")
        viewer = make_user("vera", password=PASSWORD)
        give_role(viewer, "editor", workflow)
        yield make_run(workflow, state="running", tasks={"fetch": "running", "add_up": "pending"})


def test_a_long_log_opens_at_its_end_and_earlier_lines_load_above(page, live_server, report_run):
    from runs.models import TaskLogChunk

    task = report_run.task_runs.get(task_name="fetch")
    text = "".join(f"step {n} of 20000: fine\n" for n in range(1, 20_001))
    TaskLogChunk.objects.bulk_create(
        TaskLogChunk(task_run=task, attempt=1, seq=seq, text=text[i : i + 50_000])
        for seq, i in enumerate(range(0, len(text), 50_000))
    )
    log_in(page, live_server, "vera", then=f"/runs/{report_run.pk}/tasks/fetch/log/")
    last = page.locator("#L20000")
    expect(last).to_be_in_viewport()
    page.evaluate("window.batonNeverReloaded = true")
    first_shown = int(page.locator("#log-lines > div[id^=L]").first.get_attribute("id")[1:])
    shot(page, "log-tail")

    page.locator("#log-box").evaluate("box => box.scrollTop = 0")
    page.get_by_role("link", name="Load earlier lines").click()
    expect(page.locator(f"#L{first_shown - 1}")).to_be_attached()
    expect(page.locator(f"#L{first_shown}")).to_be_in_viewport()  # the reader's place is kept
    assert page.evaluate("window.batonNeverReloaded === true")
    shot(page, "log-earlier")

    TaskLogChunk.objects.create(task_run=task, attempt=1, seq=99, text="a brand new line\n")
    expect(page.locator("#L20001")).to_have_text("a brand new line", timeout=8_000)


def test_the_pages_speak_french_on_a_phone(browser, live_server, report_run):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page = context.new_page()
    page.test_name = "test_the_pages_speak_french_on_a_phone"
    try:
        log_in_fr(page, live_server)
        expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
        expect(page.get_by_role("link", name="Lancer Report")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "home-fr")

        page.goto(f"{live_server.url}/runs/{report_run.pk}/")
        expect(page.get_by_test_id("run-state")).to_have_text("En cours")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "run-fr")

        page.goto(f"{live_server.url}/workflows/report/run/")
        expect(page.get_by_label("Top")).to_have_value("3")
        shot(page, "form-fr")
    finally:
        context.close()


def log_in_fr(page, live_server):
    page.goto(f"{live_server.url}/")
    page.get_by_label("Nom d’utilisateur ou e-mail").fill("vera")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    shot(page, "login-fr")
    page.get_by_role("button", name="Se connecter", exact=True).click()
