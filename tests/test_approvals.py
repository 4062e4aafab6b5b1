"""Approval steps: who may decide, four eyes, reasons, timeouts, audit, the pages."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts.services import create_token
from accounts.testing import give_role, make_user
from audit.models import AuditEvent
from runs.approvals import approve_step, reject_step
from runs.execution.runner import run_task_run
from runs.execution.statements import run_info
from runs.models import Pool, TaskRun
from runs.services import ActionRefused, mark_task, trigger_run
from tests.api_world import ApiClient
from tests.effects import Snapshot, changes_since
from tests.pages_world import registry_with, synced_for_module
from workflows.models import Workflow
from workflows.registry import reset_registry

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"


class World:
    def __init__(self):
        self.finance, _ = Group.objects.get_or_create(name="Finance")
        self.starter, self.approver, self.outsider = (
            make_user(name) for name in ("starter", "approver", "outsider")
        )
        self.finance.user_set.add(self.starter, self.approver)
        for slug in SLUGS:
            workflow = Workflow.objects.get(slug=slug)
            for user in (self.starter, self.approver, self.outsider):
                give_role(user, "operator", workflow)

    def waiting_step(self, slug="signed_off_payment", **parameters) -> TaskRun:
        """A run started by ``starter`` whose approval step is open (waiting)."""
        run = trigger_run(
            workflow=Workflow.objects.get(slug=slug), parameters=parameters, started_by=self.starter
        )
        step = run.task_runs.get(kind="approval")
        assert run_task_run(step.pk) == "waiting"
        step.refresh_from_db()
        return step


SLUGS = ("signed_off_payment", "quick_sign_off", "unknown_approvers")


@pytest.fixture(scope="module")
def registry():
    return registry_with(WORKFLOWS, SLUGS)


@pytest.fixture(scope="module")
def synced(django_db_setup, django_db_blocker, registry):
    yield from synced_for_module(registry, django_db_blocker)


@pytest.fixture
def world(db, synced, registry):
    run_info.cache_clear()  # run ids come back after a rolled-back test on SQLite
    reset_registry(registry)
    try:
        yield World()
    finally:
        reset_registry(None)


def test_an_approver_approves_and_the_run_goes_on(world):
    step = world.waiting_step()
    approve_step(task_run=step, user=world.approver)
    step.refresh_from_db()
    pay = step.run.task_runs.get(task_name="pay")
    assert (step.state, step.result["approved_by"], pay.state) == ("success", "approver", "queued")
    assert step.note == "Approved by approver."
    event = AuditEvent.objects.get(verb="task.approved")
    assert (event.actor, event.workflow_slug) == (world.approver, "signed_off_payment")
    assert event.details == {"title": "Finance sign-off", "approvers": "Finance"}


def test_the_starter_of_the_run_may_not_approve_it_and_nothing_changes(world):
    step = world.waiting_step()
    before = Snapshot.take()
    with pytest.raises(ActionRefused, match=r"You started this run, so you may not approve it"):
        approve_step(task_run=step, user=world.starter)
    assert not changes_since(before)


def test_someone_outside_the_approvers_may_neither_approve_nor_reject(world):
    step = world.waiting_step()
    before = Snapshot.take()
    with pytest.raises(ActionRefused, match="Only members of Finance may decide"):
        approve_step(task_run=step, user=world.outsider)
    with pytest.raises(ActionRefused, match="Only members of Finance may decide"):
        reject_step(task_run=step, user=world.outsider, reason="no")
    assert not changes_since(before)


def test_a_rejection_needs_a_reason_and_fails_the_run_with_it(world):
    step = world.waiting_step()
    before = Snapshot.take()
    with pytest.raises(ActionRefused, match="Say why you reject it"):
        reject_step(task_run=step, user=world.approver, reason="   ")
    assert not changes_since(before)

    reject_step(task_run=step, user=world.starter, reason="wrong amount")  # the starter may
    step.refresh_from_db()
    states = dict(step.run.task_runs.values_list("task_name", "state"))
    step.run.refresh_from_db()
    assert states == {"finance_sign_off": "failed", "pay": "upstream_failed"}
    assert step.run.state == "failed"
    assert step.error == "Rejected by starter: wrong amount"
    event = AuditEvent.objects.get(verb="task.rejected")
    assert (event.actor, event.details["reason"]) == (world.starter, "wrong amount")


def test_a_step_decided_once_refuses_a_second_decision(world):
    step = world.waiting_step()
    approve_step(task_run=step, user=world.approver)
    before = Snapshot.take()
    with pytest.raises(ActionRefused, match="is not waiting for a decision any more"):
        reject_step(task_run=step, user=world.approver, reason="too late")
    assert not changes_since(before)


def test_an_undecided_step_is_rejected_at_its_timeout_and_audited(world):
    step = world.waiting_step("quick_sign_off")
    assert step.wait_deadline == step.next_attempt_at
    assert step.wait_deadline - step.started_at == timedelta(seconds=1)
    past = timezone.now() - timedelta(seconds=1)
    TaskRun.objects.filter(pk=step.pk).update(wait_deadline=past, next_attempt_at=past)
    assert run_task_run(step.pk) == "failed"  # its deadline message came
    step.refresh_from_db()
    assert step.error == "Rejected: nobody decided within 0:00:01."
    assert step.run.task_runs.get(task_name="pay").state == "upstream_failed"
    event = AuditEvent.objects.get(verb="task.approval_timed_out")
    assert (event.actor_label, event.details["error"]) == ("system", step.error)


def test_an_approvers_group_that_does_not_exist_fails_the_step_naming_it(world):
    run = trigger_run(workflow=Workflow.objects.get(slug="unknown_approvers"), parameters={})
    step = run.task_runs.get(kind="approval")
    assert run_task_run(step.pk) == "failed"
    step.refresh_from_db()
    assert step.error.startswith("Approvers group 'Nobody' does not exist (named at ")
    assert "waiting.py:" in step.error


def test_an_approval_step_cannot_be_marked_succeeded_around_its_approvers(world):
    step = world.waiting_step()
    before = Snapshot.take()
    with pytest.raises(ActionRefused, match="approved by its approvers"):
        mark_task(task_run=step, state="success", user=world.starter)
    assert not changes_since(before)


# Pages.


def test_the_run_page_shows_approve_and_reject_to_an_approver(client, world):
    step = world.waiting_step()
    client.force_login(world.approver)
    page = client.get(reverse("runs:detail", args=[step.run_id])).content.decode()
    assert "Waiting for a decision: Finance sign-off" in page
    # The run's state and the step's, in words.
    assert 'data-testid="run-state">Waiting for approval by Finance</span>' in page
    assert page.count("Waiting for approval by Finance") == 2
    assert reverse("runs:approve_step", args=[step.run_id, "finance_sign_off"]) in page
    assert "Reason for rejecting (required)" in page


def test_the_run_page_tells_the_starter_why_they_cannot_approve(client, world):
    step = world.waiting_step()
    client.force_login(world.starter)
    page = client.get(reverse("runs:detail", args=[step.run_id])).content.decode()
    assert "You started this run, so you may not approve it" in page
    assert reverse("runs:approve_step", args=[step.run_id, "finance_sign_off"]) not in page
    assert reverse("runs:reject_step", args=[step.run_id, "finance_sign_off"]) in page


def test_the_run_page_shows_no_buttons_to_others(client, world):
    step = world.waiting_step()
    client.force_login(world.outsider)
    page = client.get(reverse("runs:detail", args=[step.run_id])).content.decode()
    assert "Only members of Finance may decide." in page
    assert "Reason for rejecting" not in page


def test_pressing_reject_without_a_reason_says_so_and_changes_nothing(client, world):
    step = world.waiting_step()
    client.force_login(world.approver)
    before = Snapshot.take()
    url = reverse("runs:reject_step", args=[step.run_id, "finance_sign_off"])
    page = client.post(url, {"reason": ""}, follow=True).content.decode()
    assert "Say why you reject it" in page
    assert not changes_since(before)


def test_a_stranger_to_the_workflow_gets_404_and_nothing_changes(client, world):
    step = world.waiting_step()
    stranger = make_user("stranger")
    world.finance.user_set.add(stranger)  # an approver who may not see the workflow
    client.force_login(stranger)
    before = Snapshot.take()
    url = reverse("runs:approve_step", args=[step.run_id, "finance_sign_off"])
    assert client.post(url).status_code == 404
    assert not changes_since(before)


def test_the_home_page_lists_the_steps_waiting_for_the_users_approval(client, world):
    step = world.waiting_step()
    client.force_login(world.approver)
    page = client.get(reverse("workflows:list")).content.decode()
    assert "1 step waits for your approval" in page
    assert f"{reverse('runs:detail', args=[step.run_id])}#approval-finance_sign_off" in page
    # Not to its starter (who may not approve), nor to others.
    for user in (world.starter, world.outsider):
        client.force_login(user)
        assert (
            "waits for your approval" not in client.get(reverse("workflows:list")).content.decode()
        )


def test_the_demo_supplier_payment_sends_once_finance_approves(world):
    Pool.objects.get_or_create(name="bank_api", defaults={"slots": 1})
    workflow = Workflow.objects.get(slug="supplier_payment")
    give_role(world.starter, "operator", workflow)
    run = trigger_run(workflow=workflow, parameters={}, started_by=world.starter)
    ids = dict(run.task_runs.values_list("task_name", "pk"))
    assert run_task_run(ids["prepare_payments"]) == "success"
    assert run_task_run(ids["finance_sign_off"]) == "waiting"
    approve_step(task_run=TaskRun.objects.get(pk=ids["finance_sign_off"]), user=world.approver)
    assert run_task_run(ids["send_payments"]) == "success"
    sent = TaskRun.objects.get(pk=ids["send_payments"]).result
    assert sent == "Sent 12 payments (48250) of batch 2026-W48, approved by approver"


# The API.


def api_of(user) -> ApiClient:
    return ApiClient(create_token(user=user, name="script")[1])


def test_the_api_approves_for_an_approver_and_refuses_the_starter(world):
    step = world.waiting_step()
    path = f"/runs/{step.run_id}/tasks/finance_sign_off/approve"
    starter, approver = api_of(world.starter), api_of(world.approver)
    before = Snapshot.take()
    refused = starter.post(path)
    assert refused.status_code == 409
    assert "you may not approve it (four eyes)" in refused.json()["detail"]
    assert not changes_since(before)

    answer = approver.post(path)
    assert answer.status_code == 200
    tasks = {t["name"]: t["state"] for t in answer.json()["tasks"]}
    assert tasks == {"finance_sign_off": "success", "pay": "queued"}
    assert AuditEvent.objects.filter(verb="task.approved", actor=world.approver).exists()


def test_the_api_rejects_with_a_reason_only(world):
    step = world.waiting_step()
    api, path = api_of(world.approver), f"/runs/{step.run_id}/tasks/finance_sign_off/reject"
    before = Snapshot.take()
    assert api.post(path, {"reason": "  "}).status_code == 422
    assert not changes_since(before)
    answer = api.post(path, {"reason": "not this month"})
    assert answer.status_code == 200
    step.refresh_from_db()
    assert (step.state, step.error) == ("failed", "Rejected by approver: not this month")
