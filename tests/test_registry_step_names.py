"""A step named with a character page addresses cannot hold is refused at load, not a 500."""

import pytest
from django.urls import reverse

from workflows.models import Workflow, WorkflowLoadError

from .pages_world import make_run, page_world

SLASHED = """
from workflows import task, workflow


@task
def export() -> None:
    pass


@workflow
def slashed():
    export.with_options(name="eu/export")()
"""


@pytest.fixture
def world(db, tmp_path):
    folder = tmp_path / "page_workflows"
    folder.mkdir()
    (folder / "slashed.py").write_text(SLASHED)
    with page_world(tmp_path) as built:
        yield built


def test_the_file_is_reported_with_its_line_and_its_workflow_not_synced(world, tmp_path):
    error = WorkflowLoadError.objects.get()
    file = tmp_path / "page_workflows" / "slashed.py"
    assert error.file == str(file)
    assert error.message.startswith(
        f"workflow 'slashed' ({file}:12): task name 'eu/export' is not allowed"
    )
    assert not Workflow.objects.filter(slug="slashed").exists()


def test_the_pages_of_the_other_workflows_still_answer(client, world):
    run = make_run(world.report)
    client.force_login(world.root)
    pages = [
        reverse("workflows:list"),
        reverse("workflows:detail", args=["report"]),
        reverse("runs:detail", args=[run.pk]),
        reverse("runs:task_log", args=[run.pk, "fetch"]),
    ]
    assert {page: client.get(page).status_code for page in pages} == dict.fromkeys(pages, 200)
