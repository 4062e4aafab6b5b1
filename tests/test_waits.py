"""Waits (wait_for, wait_until) and pools on the in-process broker; their definition errors."""

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from runs.execution.runner import run_task_run
from runs.execution.statements import run_info
from runs.models import Pool, TaskRun
from runs.recovery import sweep
from runs.selectors import task_log
from runs.services import cancel_run, trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
from workflows import DefinitionError, approval, task, wait_for, wait_until, workflow
from workflows.models import TaskSpec, Workflow

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"


@pytest.fixture
def engine(transactional_db):
    with use_workflows(WORKFLOWS), in_process_worker(threads=4) as broker:
        yield broker


@pytest.fixture
def loaded(db):
    run_info.cache_clear()  # run ids come back after a rolled-back test on SQLite
    with use_workflows(WORKFLOWS):
        yield


def start(slug, **parameters):
    return trigger_run(workflow=Workflow.objects.get(slug=slug), parameters=parameters)


def test_a_wait_succeeds_on_its_third_check_and_passes_its_result_on(engine, tmp_path):
    marks = tmp_path / "checks.txt"
    run = wait_for_run(start("third_check_wait", marks=str(marks)), timeout=15)
    tasks = {t.task_name: t for t in run.task_runs.all()}
    check = tasks["ready_on_third_check"]
    assert run.state == "success"
    assert marks.read_text().splitlines() == ["check 1", "check 2", "check 3"]
    assert (check.state, check.attempt, check.result) == ("success", 3, {"ready_after": 3})
    assert tasks["report"].result == "ready after 3 checks"
    # Each check is an attempt with its log; a "not yet" used up no retry.
    assert "check number 2" in task_log(task_run=check, attempt=2)
    assert check.max_attempts == 3
    assert not check.attempts.exists()  # "not yet" is not a failure


def test_a_waiting_step_holds_no_worker_thread_between_checks(loaded):
    run = start("third_check_wait", marks="/dev/null")
    check = run.task_runs.get(task_name="ready_on_third_check")
    before = threading.active_count()
    assert run_task_run(check.pk) == "waiting"
    check.refresh_from_db()
    assert check.state == "waiting"
    assert timezone.now() < check.next_attempt_at <= timezone.now() + timedelta(seconds=1)
    assert threading.active_count() == before
    # Its message comes back early (a duplicate): nothing runs before the check is due.
    assert run_task_run(check.pk) is None
    assert run.task_runs.get(task_name="ready_on_third_check").attempt == 1


def test_a_wait_past_its_timeout_fails_saying_so(engine):
    run = wait_for_run(start("hopeless_wait"), timeout=15)
    task_run = run.task_runs.get()
    assert run.state == "failed"
    assert task_run.state == "failed"
    assert task_run.error.startswith("Still not ready after 0:00:02 (")
    assert "checks): the wait gave up." in task_run.error


def test_wait_until_goes_on_once_the_moment_comes(engine):
    moment = timezone.now() + timedelta(seconds=1)
    run = start("until_a_moment", when=moment.isoformat())
    waiting = run.task_runs.get(task_name="wait_until")
    wait_for_run(run, timeout=10)
    waiting.refresh_from_db()
    after = run.task_runs.get(task_name="after_the_moment")
    assert run.state == "success"
    assert after.started_at >= moment
    assert after.result.startswith("went on after ")
    assert waiting.attempt == 2  # once too early, once on time: no polling in between


def test_a_cancelled_run_cancels_its_waiting_step(loaded):
    run = start("third_check_wait", marks="/dev/null")
    check = run.task_runs.get(task_name="ready_on_third_check")
    run_task_run(check.pk)
    assert cancel_run(run=run)
    check.refresh_from_db()
    assert check.state == "cancelled"


# Pools.


def test_a_full_pool_parks_a_task_and_a_freed_slot_starts_the_highest_priority_first(
    loaded, tmp_path
):
    Pool.objects.create(name="warehouse", slots=1)
    marks = tmp_path / "marks.txt"
    run = start("warehouse_priorities", marks=str(marks))
    ids = dict(run.task_runs.values_list("task_name", "pk"))
    assert run_task_run(ids["routine_0"]) == "success"
    # routine_1 holds the only slot: the others, claimed meanwhile, are parked.
    TaskRun.objects.filter(pk=ids["routine_1"]).update(state="running")
    for name in ("routine_2", "urgent_load"):
        assert run_task_run(ids[name]) is None
    parked = run.task_runs.filter(state="waiting").values_list("task_name", flat=True)
    assert sorted(parked) == ["routine_2", "urgent_load"]

    page_words = waiting_words_of(run, "urgent_load")
    assert page_words == "Waiting for pool warehouse (1 of 1 in use)"

    TaskRun.objects.filter(pk=ids["routine_1"]).update(state="success")
    assert sweep(timezone.now())["pool_slots_filled"] == 1
    states = dict(run.task_runs.values_list("task_name", "state"))
    assert (states["urgent_load"], states["routine_2"]) == ("queued", "waiting")


def waiting_words_of(run, name) -> str:
    from runs.pools import note_pool_use
    from runs.templatetags.baton import task_state

    task_runs = list(run.task_runs.all())
    note_pool_use(task_runs)
    return task_state(next(t for t in task_runs if t.task_name == name))


def test_the_end_of_a_pooled_task_starts_the_next_one(engine, tmp_path):
    Pool.objects.create(name="warehouse", slots=1)
    marks = tmp_path / "marks.txt"
    run = wait_for_run(start("warehouse_a", marks=str(marks)), timeout=15)
    assert run.state == "success"
    lines = marks.read_text().splitlines()
    assert [line.split()[0] for line in lines] == ["start", "end"] * 3  # one at a time


def test_a_task_naming_a_pool_nobody_created_fails_naming_it(engine):
    run = wait_for_run(start("missing_pool"), timeout=10)
    task_run = run.task_runs.get()
    assert (run.state, task_run.state) == ("failed", "failed")
    assert task_run.error.startswith("Pool 'no_such_pool' does not exist (named at ")
    assert "waiting.py:" in task_run.error
    assert "an admin creates it in the admin under Pools" in task_run.error


def test_sync_stores_a_step_s_pool_and_priority(loaded):
    spec = TaskSpec.objects.get(workflow__slug="warehouse_priorities", name="urgent_load")
    assert (spec.pool, spec.priority) == ("warehouse", 10)
    step = TaskSpec.objects.get(workflow__slug="signed_off_payment", name="finance_sign_off")
    assert step.kind == "approval"
    assert step.arguments == {
        "title": "Finance sign-off",
        "approvers": "group:Finance",
        "timeout": None,
    }


# Definition errors: each names the problem, the file and the line.


def declare(body):
    @workflow
    def bad():
        body()

    return bad


@task
def check_something() -> bool:
    return True


@task
def check_item(item: int) -> bool:
    return True


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            lambda: wait_for(check_something),
            "wait_for takes a task call, e.g. wait_for(check_something(...)), not the task",
        ),
        (
            lambda: wait_for(check_something(), every=5),
            "every must be a datetime.timedelta of at least one second, not 5",
        ),
        (
            lambda: wait_until(timezone.now().replace(tzinfo=None)),
            "wait_until needs an aware datetime (with tzinfo)",
        ),
        (lambda: wait_until("tomorrow"), "wait_until takes a datetime, a workflow parameter"),
        (
            lambda: wait_for(check_item.map([1, 2])),
            "wait_for cannot wait on the mapped step 'check_item'",
        ),
        (
            lambda: approval("Sign-off", approvers="Finance"),
            "approvers must be 'group:<name>', e.g. approvers='group:Finance', not 'Finance'",
        ),
        (lambda: approval("", approvers="group:Finance"), "approval needs a title"),
        (
            lambda: check_something.with_options(pool="a warehouse")(),
            "pool must be the name of a pool (letters, digits, _, - and .)",
        ),
    ],
)
def test_a_bad_wait_pool_or_approval_is_a_definition_error_at_its_line(body, message):
    with pytest.raises(DefinitionError) as raised:
        declare(body)
    assert message in str(raised.value)
    assert raised.value.file == __file__
    assert raised.value.line


def test_a_bad_priority_is_a_definition_error():
    with pytest.raises(DefinitionError, match="priority must be a whole number, not 'high'"):
        task(priority="high")(lambda: None)


def test_the_pool_admin_shows_its_use_and_more_slots_start_waiting_tasks(loaded, client):
    from accounts.testing import make_user

    Pool.objects.create(name="warehouse", slots=0)  # holds every task
    run = start("warehouse_a", marks="/dev/null")
    for task_run in run.task_runs.all():
        assert run_task_run(task_run.pk) is None
    assert run.task_runs.filter(state="waiting").count() == 3
    client.force_login(make_user("root", superuser=True))
    page = client.get(reverse("admin:runs_pool_changelist")).content.decode()
    assert '<td class="field-waiting">3</td>' in page

    pool = Pool.objects.get()
    change = reverse("admin:runs_pool_change", args=[pool.pk])
    client.post(change, {"slots": 2, "description": "the data warehouse"})
    states = sorted(run.task_runs.values_list("state", flat=True))
    assert states == ["queued", "queued", "waiting"]


def test_a_check_that_ends_not_yet_in_a_cancelled_run_is_cancelled_not_left_waiting(loaded):
    from runs.execution.finish import end_attempt
    from runs.execution.outcome import Outcome
    from runs.execution.statements import claim_task_run

    run = start("third_check_wait", marks="/dev/null")
    claimed = claim_task_run(run.task_runs.get(task_name="ready_on_third_check").pk)
    assert cancel_run(run=run)  # while the check runs
    soon = timezone.now() + timedelta(minutes=1)
    assert end_attempt(claimed, Outcome("waiting", next_check_at=soon), options=None) == "cancelled"
    check = run.task_runs.get(task_name="ready_on_third_check")
    assert (check.state, check.error) == ("cancelled", "The run ended while this step was waiting.")


def test_the_sweep_sends_again_a_check_whose_message_was_lost(loaded):
    from audit.models import AuditEvent

    run = start("third_check_wait", marks="/dev/null")
    check = run.task_runs.get(task_name="ready_on_third_check")
    run_task_run(check.pk)
    lost = timezone.now() - timedelta(minutes=10)  # due long ago: its message never came
    TaskRun.objects.filter(pk=check.pk).update(next_attempt_at=lost)
    assert sweep(timezone.now())["checks_resent"] == 1
    check.refresh_from_db()
    assert check.state == "queued"
    event = AuditEvent.objects.get(verb="task.resent")
    assert (event.actor_label, event.object_id) == ("system", str(check.pk))
    assert sweep(timezone.now())["checks_resent"] == 0  # once


def test_tasks_waiting_for_a_pool_that_is_deleted_go_on_and_fail_saying_so(loaded):
    pool = Pool.objects.create(name="warehouse", slots=0)
    run = start("warehouse_a", marks="/dev/null")
    for task_run in run.task_runs.all():
        run_task_run(task_run.pk)
    pool.delete()
    assert sweep(timezone.now())["pool_slots_filled"] == 3
    task_run = run.task_runs.first()
    assert run_task_run(task_run.pk) == "failed"
    task_run.refresh_from_db()
    assert task_run.error.startswith("Pool 'warehouse' does not exist")
