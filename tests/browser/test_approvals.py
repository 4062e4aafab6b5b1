"""Approval steps in a real browser: the home page's list, Approve, and Reject with a reason."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from accounts.testing import give_role, make_user
from runs.execution.runner import run_task_run
from runs.services import trigger_run
from runs.testing import use_workflows
from tests.browser.accessibility import assert_accessible
from tests.browser.test_pages2 import enter
from workflows.models import Workflow

pytestmark = pytest.mark.django_db(transaction=True)

WORKFLOWS = Path(__file__).resolve().parents[1] / "integration" / "workflows"


@pytest.fixture
def world():
    with use_workflows(WORKFLOWS):
        workflow = Workflow.objects.get(slug="signed_off_payment")
        starter, approver = make_user("sam"), make_user("fran")
        finance, _ = Group.objects.get_or_create(name="Finance")
        finance.user_set.add(starter, approver)
        for user in (starter, approver):
            give_role(user, "operator", workflow)
        runs = []
        for amount in (10, 20):
            run = trigger_run(workflow=workflow, parameters={"amount": amount}, started_by=starter)
            run_task_run(run.task_runs.get(kind="approval").pk)  # the step opens: waiting
            runs.append(run)
        yield {"starter": starter, "approver": approver, "runs": runs}


def test_an_approver_approves_one_run_and_rejects_the_other_with_a_reason(
    browser, live_server, world
):
    first, second = world["runs"]
    page = enter(browser, live_server, world["approver"])
    page.goto(page.base + "/")
    waiting = page.get_by_test_id("approvals-waiting")
    expect(waiting).to_contain_text("2 steps wait for your approval")
    waiting.get_by_role("link", name="Finance sign-off").first.click()
    expect(page.get_by_test_id("run-state")).to_have_text("Waiting for approval by Finance")
    assert_accessible(page)

    page.goto(page.base + f"/runs/{first.pk}/")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Approved: the run goes on.")).to_be_visible()
    first.refresh_from_db()
    assert first.task_runs.get(task_name="finance_sign_off").state == "success"

    page.goto(page.base + f"/runs/{second.pk}/")
    page.get_by_role("button", name="Reject").click()  # no reason: the browser asks for one
    assert second.task_runs.get(task_name="finance_sign_off").state == "waiting"
    page.get_by_label("Reason for rejecting (required)").fill("Wrong supplier")
    page.get_by_role("button", name="Reject").click()
    expect(page.get_by_text("Rejected: the step failed, with your reason.")).to_be_visible()
    expect(page.locator("#run-tasks")).to_contain_text("Rejected by fran: Wrong supplier")


def test_the_starter_sees_why_they_cannot_approve(browser, live_server, world):
    page = enter(browser, live_server, world["starter"])
    page.goto(page.base + f"/runs/{world['runs'][0].pk}/")
    expect(page.get_by_test_id("four-eyes")).to_contain_text("You started this run")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.get_by_role("button", name="Reject")).to_have_count(1)
