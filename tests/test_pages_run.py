"""The run page: state in words, details, tasks, live fragment, and the actions."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from runs.models import TaskRun, WorkflowRun
from runs.services import ActionRefused, cancel_run, retry_failed_tasks, retry_task
from runs.states import RunState, TaskState
from runs.testing import stub_broker

from .pages_world import make_run, page_world


@pytest.fixture
def world(db, tmp_path):
    with page_world(tmp_path) as built:
        yield built


def run_page(client, user, run, **headers):
    client.force_login(user)
    return client.get(reverse("runs:detail", args=[run.pk]), **headers)


def test_it_says_the_state_in_plain_words_with_parameters_and_who_started_it(client, world):
    run = make_run(
        world.report,
        state="failed",
        parameters={"region": "south", "top": 2},
        started_by=world.operator,
        tasks={"fetch": "success", "add_up": "failed", "send": "upstream_failed"},
    )
    TaskRun.objects.filter(run=run, task_name="add_up").update(error="ZeroDivisionError: oops")

    page = run_page(client, world.viewer, run).content.decode()

    assert re.search(r'data-testid="run-state">Failed<', page)
    assert "operator" in page and "(by hand)" in page
    assert '<dt>Region</dt><dd class="value">south</dd>' in page
    assert "ZeroDivisionError: oops" in page
    assert "Not run: an earlier task failed" in page
    assert reverse("runs:task_log", args=[run.pk, "add_up"]) in page
    assert "took 42 s" in page


@pytest.mark.parametrize(
    "state, words",
    [
        ("queued", "Waiting"),
        ("running", "Running"),
        ("success", "Succeeded"),
        ("cancelled", "Cancelled"),
    ],
)
def test_it_names_each_run_state_as_people_say_it(client, world, state, words):
    run = make_run(world.report, state=state)

    page = run_page(client, world.viewer, run).content.decode()

    assert f'data-testid="run-state">{words}<' in page


def test_it_says_when_a_waiting_retry_will_start(client, world, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    run = make_run(
        world.report, state="running", tasks={"fetch": "up_for_retry", "add_up": "pending"}
    )
    TaskRun.objects.filter(run=run, task_name="fetch").update(
        next_attempt_at=timezone.now() + timedelta(seconds=40)
    )

    page = run_page(client, world.viewer, run).content.decode()

    assert 'data-testid="run-state">Retrying in 40 s<' in page


def test_an_active_run_refreshes_itself_with_a_fragment_and_a_finished_one_stops(client, world):
    run = make_run(world.report, state="running")

    full = run_page(client, world.viewer, run).content.decode()
    fragment = run_page(client, world.viewer, run, HTTP_HX_REQUEST="true")

    assert 'hx-trigger="every 2s"' in full
    text = fragment.content.decode()
    assert "<html" not in text and "About this run" not in text
    assert 'id="run-status"' in text and 'hx-trigger="every 2s"' in text
    assert 'id="run-tasks" class="card" hx-swap-oob="true"' in text
    assert "HX-Request" in fragment["Vary"]

    WorkflowRun.objects.filter(pk=run.pk).update(state="success", finished_at=timezone.now())
    done = run_page(client, world.viewer, run, HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done
    assert 'data-testid="run-state">Succeeded<' in done


def test_it_draws_a_timeline_bar_per_started_task(client, world):
    run = make_run(world.report, state="success")

    page = run_page(client, world.viewer, run).content.decode()

    assert (
        len(
            re.findall(r'class="gantt-bar st-success" data-left="[\d.]+" data-width="[\d.]+"', page)
        )
        == 3
    )


def test_it_shows_the_actions_to_editors_only(client, world):
    run = make_run(world.report, state="failed", tasks={"fetch": "failed"})
    actions = [
        reverse("runs:retry_failed", args=[run.pk]),
        reverse("runs:retry_task", args=[run.pk, "fetch"]),
        reverse("runs:mark_task", args=[run.pk, "fetch"]),
    ]

    editor = run_page(client, world.editor, run).content.decode()
    operator = run_page(client, world.operator, run).content.decode()

    assert all(url in editor for url in actions)
    assert not any(url in operator for url in actions)
    assert f"?from_run={run.pk}" in operator  # run again


def test_an_editor_cancels_a_running_run(client, world):
    run = make_run(world.report, state="running", tasks={"fetch": "running", "add_up": "pending"})
    client.force_login(world.editor)

    response = client.post(reverse("runs:cancel", args=[run.pk]), follow=True)

    assert f"Run #{run.number} is cancelled" in response.content.decode()
    run.refresh_from_db()
    assert run.state == "cancelled"
    assert TaskRun.objects.get(run=run, task_name="add_up").state == "cancelled"


def test_cancelling_a_finished_run_says_so(client, world):
    run = make_run(world.report, state="success")
    client.force_login(world.editor)

    response = client.post(reverse("runs:cancel", args=[run.pk]), follow=True)

    assert "had already finished" in response.content.decode()


def test_an_editor_retries_the_failed_tasks(client, world):
    run = make_run(
        world.report,
        state="failed",
        tasks={"fetch": "success", "add_up": "failed", "send": "upstream_failed"},
    )
    client.force_login(world.editor)

    response = client.post(reverse("runs:retry_failed", args=[run.pk]), follow=True)

    assert "2 tasks will run again." in response.content.decode()
    states = dict(TaskRun.objects.filter(run=run).values_list("task_name", "state"))
    assert states["fetch"] == "success"
    assert states["send"] == "pending"


def test_retrying_the_failed_tasks_of_a_successful_run_is_refused_with_the_reason(client, world):
    run = make_run(world.report, state="success")
    client.force_login(world.editor)

    response = client.post(reverse("runs:retry_failed", args=[run.pk]), follow=True)

    assert "only a failed or cancelled run can retry its failed tasks" in response.content.decode()


def test_an_editor_retries_one_task_and_those_after_it(client, world):
    run = make_run(world.report, state="success")
    client.force_login(world.editor)

    response = client.post(reverse("runs:retry_task", args=[run.pk, "add_up"]), follow=True)

    assert "Task “add_up” will run again, with 1 task after it." in response.content.decode()
    states = dict(TaskRun.objects.filter(run=run).values_list("task_name", "state"))
    assert states["fetch"] == "success"


def test_marking_a_task_needs_a_reason(client, world):
    run = make_run(world.report, state="failed", tasks={"fetch": "failed"})
    client.force_login(world.editor)
    url = reverse("runs:mark_task", args=[run.pk, "fetch"])

    form = client.get(url).content.decode()
    response = client.post(url, {"state": "success", "reason": "   "})

    assert '<label for="id_reason">Reason' in form
    assert response.status_code == 400
    assert "Give a reason: it is kept with the task." in response.content.decode()
    assert TaskRun.objects.get(run=run).state == "failed"


def test_an_editor_marks_a_task_succeeded_with_a_reason(client, world):
    run = make_run(world.report, state="failed", tasks={"fetch": "failed"})
    client.force_login(world.editor)

    response = client.post(
        reverse("runs:mark_task", args=[run.pk, "fetch"]),
        {"state": "success", "reason": "Fixed by hand in the ledger"},
        follow=True,
    )

    assert "Task “fetch” is marked as succeeded." in response.content.decode()
    task = TaskRun.objects.get(run=run)
    assert task.state == "success"
    assert "Fixed by hand in the ledger" in task.note
    run.refresh_from_db()
    assert run.state == "success"


def test_marking_refuses_an_unknown_state(client, world):
    run = make_run(world.report, state="failed", tasks={"fetch": "failed"})
    client.force_login(world.editor)

    response = client.post(
        reverse("runs:mark_task", args=[run.pk, "fetch"]), {"state": "skipped", "reason": "x"}
    )

    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()


@pytest.mark.parametrize(
    "name, args",
    [
        ("runs:cancel", []),
        ("runs:retry_failed", []),
        ("runs:retry_task", ["fetch"]),
        ("runs:mark_task", ["fetch"]),
    ],
)
@pytest.mark.parametrize("who, status", [("operator", 403), ("stranger", 404)])
def test_it_refuses_the_actions_to_those_who_may_not_change_runs(
    client, world, name, args, who, status
):
    run = make_run(world.report, state="running", tasks={"fetch": "running"})
    client.force_login(getattr(world, who))

    response = client.post(reverse(name, args=[run.pk, *args]), {"state": "success", "reason": "x"})

    assert response.status_code == status
    assert WorkflowRun.objects.get(pk=run.pk).state == "running"


def test_actions_need_a_post(client, world):
    run = make_run(world.report, state="failed")
    client.force_login(world.editor)

    assert client.get(reverse("runs:retry_failed", args=[run.pk])).status_code == 405


def test_cancel_by_get_only_asks_for_confirmation(client, world):
    run = make_run(world.report, state="running")
    client.force_login(world.editor)

    page = client.get(reverse("runs:cancel", args=[run.pk])).content.decode()

    assert "Yes, cancel the run" in page
    run.refresh_from_db()
    assert run.state == RunState.RUNNING


@pytest.mark.parametrize("path", ["/runs/999999/", "/runs/abc/", "/runs/1/tasks/nope/log/"])
def test_it_answers_404_for_what_does_not_exist(client, world, path):
    client.force_login(world.root)

    response = client.get(path)

    assert response.status_code == 404
    assert "There is nothing here" in response.content.decode()


def test_it_hides_runs_of_workflows_a_user_may_not_see(client, world):
    run = make_run(world.cleanup)

    assert run_page(client, world.owner, run).status_code == 404


@pytest.mark.parametrize("state", [state.value for state in RunState])
def test_the_run_buttons_offered_are_the_actions_the_services_accept(client, world, state):
    """One rule on the model (``run.can_cancel``, ``run.can_retry_failed``) for page and service."""
    tasks = None if state in ("queued", "running") else {"fetch": "failed"}
    run, twin = (make_run(world.report, state=state, tasks=tasks) for _ in range(2))
    page = run_page(client, world.editor, run).content.decode()
    offered = {
        "cancel": reverse("runs:cancel", args=[run.pk]) in page,
        "retry": reverse("runs:retry_failed", args=[run.pk]) in page,
    }

    with stub_broker():
        cancelled = cancel_run(run=run)
        try:
            retry_failed_tasks(run=twin)
            retried = True
        except ActionRefused:
            retried = False

    assert offered == {"cancel": cancelled, "retry": retried}


@pytest.mark.parametrize("state", [state.value for state in TaskState])
def test_the_task_buttons_offered_are_the_actions_the_services_accept(client, world, state):
    run = make_run(world.report, state="running", tasks={"fetch": state})
    page = run_page(client, world.editor, run).content.decode()
    offered = reverse("runs:retry_task", args=[run.pk, "fetch"]) in page

    with stub_broker():
        try:
            retry_task(task_run=TaskRun.objects.get(run=run, task_name="fetch"))
            accepted = True
        except ActionRefused:
            accepted = False

    assert offered is accepted
    assert reverse("runs:mark_task", args=[run.pk, "fetch"]) in page  # any state may be marked
