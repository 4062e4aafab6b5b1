"""Staff pages 2 in a real browser, in English and French, at desktop and phone width (390 px):
results, notes and cancel on the run page; presets; the calendar, durations and code tabs;
the time zone, dark mode, the "/" shortcut, the login page's language switch; the admin.

Each page is checked with axe-core (no serious or critical violation) and kept as a small
screenshot under tests/screenshots/pages2/.
"""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from accounts.testing import give_role, make_user
from runs.models import TaskRun, WorkflowRun
from runs.testing import use_workflows
from tests.browser.accessibility import assert_accessible
from tests.pages_world import make_run, write_workflows
from workflows.models import ParameterPreset, Workflow

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots" / "pages2"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


@pytest.fixture
def world(tmp_path):
    """The page tests' "report" workflow with a running run, a finished one and a preset."""
    with use_workflows(write_workflows(tmp_path / "flows")):
        report = Workflow.objects.get(slug="report")
        people = {name: make_user(name) for name in ("ed", "rita", "vic")}
        give_role(people["ed"], "owner", report)
        give_role(people["rita"], "runner", report)
        give_role(people["vic"], "viewer", report)
        people["root"] = make_user("root", superuser=True, is_staff=True)
        running = make_run(
            report,
            state="running",
            tasks={"fetch": "success", "add_up": "running", "send": "pending"},
        )
        TaskRun.objects.filter(run=running, task_name="fetch").update(result=list(range(30)))
        done = make_run(report, state="success")
        TaskRun.objects.filter(run=done, task_name="add_up").update(result={"total": 6})
        ParameterPreset.objects.create(
            workflow=report,
            name="South, top 2",
            parameters={"region": "south", "top": 2, "day": None, "dry_run": True},
            saved_by=people["ed"],
            saved_at=timezone.now(),
        )
        yield {"report": report, "running": running, "done": done, **people}


def enter(
    browser, live_server, user=None, *, size=DESKTOP, language="en", dark=False, told_zone=True
):
    """A browser tab signed in as ``user`` (a session made by Django's test client).

    ``told_zone``: the server already knows the browser's time zone (its cookie is set), so
    no page is drawn again for it.
    """
    context = browser.new_context(
        viewport=size,
        locale="fr-FR" if language == "fr" else "en-GB",
        color_scheme="dark" if dark else "light",
        timezone_id="Europe/Paris",
    )
    context.set_default_timeout(10_000)
    cookies = [{"name": "django_language", "value": language, "url": live_server.url}]
    if told_zone:
        cookies.append({"name": "baton_tz", "value": "Europe/Paris", "url": live_server.url})
    if user is not None:
        client = Client()
        client.force_login(user)
        cookies.append(
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        )
    context.add_cookies(cookies)
    page = context.new_page()
    page.base = live_server.url
    return page


def snap(page, name: str) -> None:
    """A small screenshot of what the reader sees (the viewport, not the whole page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def visit(page, path: str, name: str):
    response = page.goto(page.base + path)
    assert response.status == 200, path
    assert_accessible(page)
    snap(page, name)
    return response


def test_an_owner_reads_results_writes_a_note_and_cancels_with_a_reason(
    browser, live_server, world
):
    page = enter(browser, live_server, world["ed"])
    running = world["running"]

    visit(page, f"/runs/{running.pk}/", "run-en-desktop")
    results = page.locator("#run-results")
    expect(results.locator('[data-result-of="fetch"] summary')).to_contain_text("[0, 1, 2,")
    page.get_by_role("link", name="Add a note").click()
    assert_accessible(page)
    page.get_by_label("Note").fill("Rerun for March")
    page.get_by_role("button", name="Save the note").click()
    expect(page.get_by_test_id("run-note")).to_contain_text("Rerun for March — ed")

    page.get_by_role("link", name="Cancel the run…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cancel run #1 of Report?")
    assert_accessible(page)
    snap(page, "cancel-confirm-en")
    page.get_by_label("Reason (optional)").fill("Wrong month")
    page.get_by_role("button", name="Yes, cancel the run").click()

    expect(page.get_by_test_id("cancelled-by")).to_have_text("Cancelled by ed. Reason: Wrong month")
    assert WorkflowRun.objects.get(pk=running.pk).state == "cancelled"
    assert_accessible(page)
    snap(page, "run-cancelled-en")
    page.context.close()


def test_a_run_page_in_french_at_phone_width_shows_tasks_as_cards(browser, live_server, world):
    page = enter(browser, live_server, world["ed"], size=PHONE, language="fr")
    running = world["running"]

    visit(page, f"/runs/{running.pk}/", "run-fr-phone")

    row = page.locator('tr[data-task="add_up"]')
    assert row.evaluate("row => getComputedStyle(row).display") == "block"
    cancel = page.get_by_role("link", name="Annuler l’exécution…")
    expect(cancel).to_be_visible()
    assert cancel.bounding_box()["x"] + cancel.bounding_box()["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page.get_by_role("link", name="Réexécuter avec ces paramètres…")).to_be_visible()
    # Every action is reachable with the keyboard alone.
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "cancel-run":
            break
    else:
        pytest.fail("Tab never reached the cancel link")
    page.context.close()


def test_a_preset_runner_starts_a_preset_as_it_is_in_french_on_a_phone(browser, live_server, world):
    page = enter(browser, live_server, world["rita"], size=PHONE, language="fr")

    visit(page, "/workflows/report/run/", "presets-only-fr-phone")
    expect(page.locator('[data-preset="South, top 2"]')).to_contain_text("south")
    expect(page.locator('input[name="top"]')).to_have_count(0)
    page.get_by_role("button", name="Lancer l’exécution").click()

    expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
    run = WorkflowRun.objects.filter(started_by=world["rita"]).get()
    assert run.parameters["region"] == "south" and run.parameters["top"] == 2
    assert_accessible(page)
    page.context.close()


def test_an_owner_saves_a_preset_from_the_form(browser, live_server, world):
    page = enter(browser, live_server, world["ed"])

    visit(page, "/workflows/report/run/", "run-form-presets-en")
    page.get_by_role("link", name="South, top 2").click()
    expect(page.get_by_test_id("preset-notice")).to_contain_text("South, top 2")
    page.get_by_label("Preset name").fill("North, top 1")
    page.locator('input[name="top"]').fill("1")
    page.get_by_role("button", name="Save as preset").click()

    expect(page.locator(".messages")).to_contain_text("Preset “North, top 1” is saved.")
    assert ParameterPreset.objects.get(name="North, top 1").parameters["top"] == 1
    page.context.close()


@pytest.mark.parametrize(
    "language, size, name",
    [("en", DESKTOP, "en-desktop"), ("fr", PHONE, "fr-phone")],
)
def test_the_calendar_durations_and_code_tabs(browser, live_server, world, language, size, name):
    page = enter(browser, live_server, world["vic"], size=size, language=language)

    visit(page, "/workflows/report/", f"workflow-{name}")
    visit(page, "/workflows/report/calendar/", f"calendar-{name}")
    expect(page.locator("table.calendar a.day")).to_have_count(1)
    visit(page, "/workflows/report/durations/", f"durations-{name}")
    expect(page.locator('[data-task="fetch"] svg rect')).to_have_count(2)
    visit(page, "/workflows/report/code/", f"code-{name}")
    assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
    page.context.close()


def test_dark_mode_time_zone_and_the_search_shortcut(browser, live_server, world):
    page = enter(browser, live_server, world["vic"], dark=True, told_zone=False)

    page.goto(page.base + "/")
    # The first page tells the browser's zone and is drawn again in it.
    expect(page.get_by_test_id("time-zone")).to_have_text("Europe/Paris")
    assert_accessible(page)
    snap(page, "home-dark-en")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 22, 26)"
    page.locator("body").press("/")
    assert page.evaluate("document.activeElement.type") == "search"
    visit(page, f"/runs/{world['done'].pk}/", "run-dark-en")
    visit(page, "/preferences/", "preferences-dark-en")
    page.get_by_label("Time zone").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("time-zone")).to_have_text("Asia/Tokyo")
    page.context.close()


def test_the_login_page_switches_language_and_says_how_long_a_lock_out_lasts(
    browser, live_server, world
):
    page = enter(browser, live_server, None)

    visit(page, "/accounts/login/", "login-en")
    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Change").click()
    expect(page.get_by_role("button", name="Se connecter", exact=True)).to_be_visible()
    assert_accessible(page)
    snap(page, "login-fr")
    page.context.close()


def test_the_admin_index_has_one_baton_section(browser, live_server, world):
    page = enter(browser, live_server, world["root"])

    page.goto(f"{live_server.url}/admin/")
    expect(page.locator("caption a.section").first).to_have_text("Baton")
    expect(page.get_by_role("link", name="Solar events")).to_have_count(0)
    snap(page, "admin-index")
    page.goto(
        f"{live_server.url}/admin/workflows/workflowschedule/add/?workflow={world['report'].pk}"
    )
    expect(page.get_by_label("Cron expression")).to_be_visible()
    expect(page.locator('[name="param_region"]')).to_be_visible()
    snap(page, "admin-schedule-add")
    page.context.close()


def test_the_started_banner_goes_once_the_run_ends(browser, live_server, world):
    page = enter(browser, live_server, world["ed"])

    page.goto(f"{live_server.url}/workflows/report/run/")
    page.get_by_role("button", name="Start the run").click()
    expect(page.locator("#messages")).to_contain_text("started.")
    run = WorkflowRun.objects.filter(started_by=world["ed"]).get()
    WorkflowRun.objects.filter(pk=run.pk).update(state="success", finished_at=timezone.now())

    expect(page.get_by_test_id("run-state")).to_have_text("Succeeded")
    expect(page.locator("#messages")).to_have_count(0)
    page.context.close()
