"""In a real browser: a group drawn as a box that folds, a mapped step as a stack, its counts."""

from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import expect

from accounts.testing import make_user
from runs.services import trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
from tests.browser.accessibility import assert_accessible
from workflows.models import Workflow

pytestmark = pytest.mark.django_db(transaction=True)

WORKFLOWS = Path(__file__).resolve().parents[1] / "integration" / "workflows"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots" / "graph"


@pytest.fixture
def signed_in(browser, live_server):
    with use_workflows(WORKFLOWS):
        client = Client()
        client.force_login(make_user("root", superuser=True, is_staff=True))
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
        context.set_default_timeout(10_000)
        cookie = {"name": "sessionid", "value": client.cookies["sessionid"].value}
        context.add_cookies([{**cookie, "url": live_server.url}])
        page = context.new_page()
        page.base = live_server.url
        yield page
        context.close()


def test_a_group_is_one_box_that_folds_and_unfolds(signed_in):
    page = signed_in
    page.goto(page.base + "/workflows/grouped/")
    box = page.locator('.graph .group-box[data-group="extract"]')
    expect(box).to_be_visible()
    expect(box.locator(".group-title")).to_have_text("▾ extract")
    for step in ("extract.orders", "extract.customers", "publish"):
        expect(page.locator(f'.graph [data-task="{step}"]')).to_be_visible()
    assert page.locator(".graph path.edge").count() == 2
    assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".graph").screenshot(path=str(SCREENSHOTS / "grouped-open.png"))

    box.locator(".group-title").click()  # fold: one node stands for the group
    folded = page.locator('.graph .group-folded[data-group="extract"]')
    expect(folded.locator(".node-label")).to_have_text("▸ extract (2)")
    expect(page.locator('.graph [data-task="extract.orders"]')).to_have_count(0)
    assert page.locator(".graph path.edge").count() == 1  # extract → publish
    page.locator(".graph").screenshot(path=str(SCREENSHOTS / "grouped-folded.png"))

    folded.press("Enter")  # and back, from the keyboard
    expect(page.locator('.graph [data-task="extract.orders"]')).to_be_visible()
    assert page.locator(".graph path.edge").count() == 2


def test_a_mapped_step_is_drawn_as_a_stack(signed_in):
    page = signed_in
    page.goto(page.base + "/workflows/map_sum/")
    square = page.locator('.graph .node.mapped[data-task="square"]')
    expect(square).to_be_visible()
    expect(square.locator("rect.stack")).to_have_count(1)
    expect(square.locator("title")).to_have_text("square (one per item)")


def test_a_mapped_steps_instances_read_as_counts_with_the_failed_one_listed(signed_in):
    page = signed_in
    with in_process_worker():
        workflow = Workflow.objects.get(slug="map_over_parameter")
        run = trigger_run(workflow=workflow, parameters={"values": ["1", "-1", "3"]})
        run = wait_for_run(run, timeout=20)
    page.goto(page.base + f"/runs/{run.pk}/")
    row = page.locator('#run-tasks tr[data-task="square"]')
    expect(row.locator(".map-counts")).to_have_text("3 instances: 2 succeeded, 1 failed")
    listed = row.locator("[data-instance]")
    expect(listed).to_have_count(1)
    expect(listed.locator("code")).to_have_text("square[1]")
    expect(listed.get_by_role("button", name="Retry square[1]")).to_be_visible()
    assert_accessible(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#run-tasks").screenshot(path=str(SCREENSHOTS / "map-instances.png"))
