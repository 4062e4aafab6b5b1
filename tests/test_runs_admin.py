"""Runs in the admin: readable, changed only through the run actions."""

from pathlib import Path

import pytest

from runs.models import TaskLogChunk, WorkflowRun
from runs.services import trigger_run
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
