"""Runs in the admin: readable, changed only through the run actions, by whom the pages allow."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from guardian.shortcuts import remove_perm

from accounts.permissions import NEEDS
from accounts.testing import give_role, make_user
from audit.object_permissions import without_permission_events
from audit.testing import AuditTrail
from runs.models import TaskLogChunk, TaskRun, WorkflowRun
from runs.services import cancel_run, trigger_run
from runs.testing import stub_broker, use_workflows
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"


@pytest.fixture
def run(db):
    with use_workflows(WORKFLOWS), stub_broker():
        yield trigger_run(workflow=Workflow.objects.get(slug="data_edge"), parameters={"n": 2})


def test_it_lists_runs_and_shows_a_task_log(admin_client, run):
    task = run.task_runs.get(task_name="produce")
    TaskLogChunk.objects.create(task_run=task, attempt=1, seq=0, text="hello <b>log</b>\n")
    task.attempt = 1
    task.save(update_fields=["attempt"])
    assert admin_client.get("/admin/runs/workflowrun/").status_code == 200
    page = admin_client.get(f"/admin/runs/workflowrun/{run.pk}/change/").content.decode()
    assert "produce" in page and "consume" in page
    page = admin_client.get(f"/admin/runs/taskrun/{task.pk}/change/").content.decode()
    assert "hello &lt;b&gt;log&lt;/b&gt;" in page


def test_the_cancel_action_cancels_through_the_service(admin_client, run):
    response = admin_client.post(
        "/admin/runs/workflowrun/",
        {"action": "cancel_selected", "_selected_action": [run.pk]},
        follow=True,
    )
    assert "1 run(s) cancelled." in response.content.decode()
    assert WorkflowRun.objects.get(pk=run.pk).state == "cancelled"
    assert set(run.task_runs.values_list("state", flat=True)) == {"cancelled"}


# --- Staff users act only where the pages would let them ------------------------------------------


@pytest.fixture
def eve(run):
    """Staff who may read runs in the admin, Editor of data_edge, only Viewer of single."""
    user = make_user("eve", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="runs", codename__in=["view_workflowrun", "view_taskrun"]
        )
    )
    give_role(user, "editor", Workflow.objects.get(slug="data_edge"))
    give_role(user, "viewer", Workflow.objects.get(slug="single"))
    return user


@pytest.fixture
def two_runs(run):
    """A running run of data_edge (``run``) and one of single, as trigger_run leaves them."""
    with use_workflows(WORKFLOWS), stub_broker():
        other = trigger_run(workflow=Workflow.objects.get(slug="single"), parameters={})
    return run, other


def remove_roles(user, workflow) -> None:
    with without_permission_events():
        for codename in NEEDS.values():
            remove_perm(codename, user, workflow)


def post_action(client, model: str, action: str, rows):
    return client.post(
        f"/admin/runs/{model}/",
        {"action": action, "_selected_action": [row.pk for row in rows]},
        follow=True,
    )


def test_a_staff_user_cancels_only_the_runs_they_may_change(client, eve, two_runs):
    mine, theirs = two_runs
    client.force_login(eve)
    trail = AuditTrail()

    response = post_action(client, "workflowrun", "cancel_selected", [mine, theirs])

    page = response.content.decode()
    assert "Refused for single #1: you may not change workflow &#x27;single&#x27;;" in page
    assert "1 run(s) cancelled." in page
    assert WorkflowRun.objects.get(pk=mine.pk).state == "cancelled"
    assert WorkflowRun.objects.get(pk=theirs.pk).state == "running"
    assert set(theirs.task_runs.values_list("state", flat=True)) == {"queued"}
    event = trail.only()
    assert (event.verb, event.actor, event.workflow_slug) == ("run.cancelled", eve, "data_edge")


def test_a_staff_user_retries_no_run_they_may_not_change(client, eve, two_runs):
    _, theirs = two_runs
    cancel_run(run=theirs)  # a cancelled run: "retry failed tasks" would apply
    client.force_login(eve)
    trail = AuditTrail()

    response = post_action(client, "workflowrun", "retry_failed_selected", [theirs])

    assert "Refused for single #1: you may not change workflow" in response.content.decode()
    assert WorkflowRun.objects.get(pk=theirs.pk).state == "cancelled"
    assert trail.events() == []


def test_a_staff_user_marks_only_the_tasks_they_may_change(client, eve, two_runs):
    mine, theirs = two_runs
    tasks = [mine.task_runs.get(task_name="produce"), theirs.task_runs.get()]
    client.force_login(eve)
    trail = AuditTrail()

    response = post_action(client, "taskrun", "mark_success", tasks)

    assert "you may not change workflow &#x27;single&#x27;;" in response.content.decode()
    assert "1 task(s) marked success." in response.content.decode()
    states = dict(TaskRun.objects.filter(pk__in=[t.pk for t in tasks]).values_list("pk", "state"))
    assert states == {tasks[0].pk: "success", tasks[1].pk: "queued"}
    assert [(e.verb, e.workflow_slug) for e in trail.events()] == [("task.marked", "data_edge")]


def test_the_admin_lists_only_the_runs_of_workflows_the_user_may_see(client, eve, two_runs):
    mine, theirs = two_runs
    remove_roles(eve, Workflow.objects.get(slug="data_edge"))
    client.force_login(eve)

    listing = client.get("/admin/runs/workflowrun/").content.decode()
    detail = client.get(f"/admin/runs/workflowrun/{mine.pk}/change/", follow=True)

    assert f"/admin/runs/workflowrun/{theirs.pk}/change/" in listing
    assert f"/admin/runs/workflowrun/{mine.pk}/change/" not in listing
    assert "data_edge" not in listing  # not even in the filter of workflows
    assert "doesn’t exist" in detail.content.decode()


def test_a_user_who_may_change_no_workflow_is_offered_no_action(client, eve, two_runs):
    remove_roles(eve, Workflow.objects.get(slug="data_edge"))
    client.force_login(eve)

    listing = client.get("/admin/runs/workflowrun/").content.decode()
    response = post_action(client, "workflowrun", "cancel_selected", two_runs)

    assert "cancel_selected" not in listing
    assert response.status_code == 200
    assert set(WorkflowRun.objects.values_list("state", flat=True)) == {"running"}
