"""A run's task runs, inserted in one statement, hold what the definition says."""

from pathlib import Path

import pytest

from runs.models import TaskRun
from runs.services import _task_runs_of, trigger_run
from runs.testing import use_workflows
from workflows.models import Workflow
from workflows.registry import get_registry

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"
COMPARED = [f.attname for f in TaskRun._meta.concrete_fields if f.attname not in ("id", "run_id")]


@pytest.fixture
def loaded(db):
    with use_workflows(WORKFLOWS):
        yield


# single: every value but the position is shared by "all" its rows.
@pytest.mark.parametrize("slug", ["grouped", "signed_off_payment", "map_naps", "single"])
def test_each_task_run_holds_its_definitions_values(loaded, slug):
    workflow = Workflow.objects.get(slug=slug)
    first = trigger_run(workflow=workflow, parameters={})
    second = trigger_run(workflow=workflow, parameters={})  # from the rows kept for the first
    expected = [
        {name: getattr(task, name) for name in COMPARED if name not in ("state", "queued_at")}
        for task in _task_runs_of(second, get_registry().get(slug))
    ]
    for run in (first, second):
        rows = list(run.task_runs.order_by("pk").values(*COMPARED))
        assert [{k: v for k, v in r.items() if k not in ("state", "queued_at")} for r in rows] == (
            expected
        )
        assert [r["position"] for r in rows] == sorted(r["position"] for r in rows)
    assert TaskRun.objects.filter(run=second).count() == len(expected)


def test_a_new_definition_of_the_workflow_gets_its_own_rows(db, workflows_dir):
    (workflows_dir / "flow.py").write_text(
        "from workflows import task, workflow\n\n@task\ndef a():\n    pass\n\n"
        "@workflow\ndef flow():\n    a()\n"
    )
    with use_workflows(workflows_dir):
        trigger_run(workflow=Workflow.objects.get(slug="flow"), parameters={})
    (workflows_dir / "flow.py").write_text(
        "from workflows import task, workflow\n\n@task(queue='other')\ndef a():\n    pass\n\n"
        "@workflow\ndef flow():\n    a() >> a()\n"
    )
    with use_workflows(workflows_dir):
        run = trigger_run(workflow=Workflow.objects.get(slug="flow"), parameters={})
    assert list(run.task_runs.order_by("pk").values_list("task_name", "queue", "upstream")) == [
        ("a", "other", []),
        ("a__2", "other", ["a"]),
    ]
