"""Pools, waits and approval steps through real worker processes (Redis + PostgreSQL)."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.testing import give_role, make_user
from audit.models import AuditEvent
from runs.models import Pool, TaskRun
from runs.services import trigger_run
from runs.testing import wait_for_run
from tests.processes import wait_until
from workflows.models import Workflow

from .conftest import WorkerProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def worker(worker_env, tmp_path_factory):
    """One worker of 8 threads for the module (more threads than the pool has slots)."""
    process = WorkerProcess(worker_env, tmp_path_factory.mktemp("waits") / "worker.log", threads=8)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def start(slug, user=None, **parameters):
    workflow = Workflow.objects.get(slug=slug)
    return trigger_run(workflow=workflow, parameters=parameters, started_by=user)


def most_at_once(marks) -> int:
    """The most tasks that ran at the same time, from their start and end marks."""
    events = []
    for line in marks.read_text().splitlines():
        what, at = line.split()
        events.append((float(at), 1 if what == "start" else -1))
    running = most = 0
    for _at, change in sorted(events, key=lambda e: (e[0], e[1])):
        running += change
        most = max(most, running)
    return most


def test_a_pool_of_two_never_runs_three_at_once_across_two_workflows(loaded, worker, tmp_path):
    Pool.objects.create(name="warehouse", slots=2)
    marks = tmp_path / "marks.txt"
    runs = [start("warehouse_a", marks=str(marks)), start("warehouse_b", marks=str(marks))]
    for run in runs:
        assert wait_for_run(run, timeout=30).state == "success"
    assert most_at_once(marks) == 2  # both slots used, never a third
    assert len(marks.read_text().splitlines()) == 12  # 6 tasks, each ran once
    # The database agrees: the claim and end of each task, as the pool's lock saw them.
    spans = TaskRun.objects.filter(run__in=runs).values_list("started_at", "finished_at")
    for started, _finished in spans:
        overlapping = sum(1 for s, f in spans if s <= started < f)
        assert overlapping <= 2


def test_a_wait_succeeds_on_its_third_check(loaded, worker, tmp_path):
    marks = tmp_path / "checks.txt"
    run = wait_for_run(start("third_check_wait", marks=str(marks)), timeout=30)
    check = run.task_runs.get(task_name="ready_on_third_check")
    assert run.state == "success"
    assert marks.read_text().splitlines() == ["check 1", "check 2", "check 3"]
    assert (check.attempt, check.result) == (3, {"ready_after": 3})
    assert run.task_runs.get(task_name="report").result == "ready after 3 checks"


def wait_for_step(run, name, state="waiting", timeout=30):
    wait_until(
        lambda: run.task_runs.get(task_name=name).state == state,
        timeout,
        f"step {name} of {run} never got {state}",
    )
    return run.task_runs.get(task_name=name)


def test_an_approval_given_and_one_refused_with_four_eyes_and_audit(loaded, worker, client):
    alice, bob = make_user("alice"), make_user("bob")
    finance = give_finance(alice, bob)
    workflow = Workflow.objects.get(slug="signed_off_payment")
    for user in (alice, bob):
        give_role(user, "viewer", workflow)
    approved, refused = (start("signed_off_payment", alice, amount=n) for n in (10, 20))
    for run in (approved, refused):
        wait_for_step(run, "finance_sign_off")
    assert finance.user_set.count() == 2

    # Four eyes: alice started the runs; her Approve changes nothing.
    client.force_login(alice)
    url = reverse("runs:approve_step", args=[approved.pk, "finance_sign_off"])
    page = client.post(url, follow=True)
    assert "you may not approve it (four eyes)" in page.content.decode()
    step = approved.task_runs.get(task_name="finance_sign_off")
    assert step.state == "waiting"
    assert not AuditEvent.objects.filter(verb="task.approved").exists()

    client.force_login(bob)
    client.post(url)
    assert wait_for_run(approved, timeout=30).state == "success"
    assert approved.task_runs.get(task_name="pay").result == "paid 10"
    step = approved.task_runs.get(task_name="finance_sign_off")
    assert step.result["approved_by"] == "bob"

    reject = reverse("runs:reject_step", args=[refused.pk, "finance_sign_off"])
    page = client.post(reject, {"reason": "  "}, follow=True)
    assert "Say why you reject it" in page.content.decode()
    assert refused.task_runs.get(task_name="finance_sign_off").state == "waiting"
    client.post(reject, {"reason": "over budget"})
    assert wait_for_run(refused, timeout=30).state == "failed"
    tasks = dict(refused.task_runs.values_list("task_name", "state"))
    assert tasks == {"finance_sign_off": "failed", "pay": "upstream_failed"}

    events = AuditEvent.objects.filter(verb__in=["task.approved", "task.rejected"]).order_by("pk")
    assert [(e.verb, e.actor.username, e.details.get("reason")) for e in events] == [
        ("task.approved", "bob", None),
        ("task.rejected", "bob", "over budget"),
    ]


def give_finance(*users):
    finance, _ = Group.objects.get_or_create(name="Finance")
    finance.user_set.add(*users)
    return finance
