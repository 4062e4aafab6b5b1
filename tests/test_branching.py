"""@branch on the in-process broker: the chosen side runs, the other is skipped."""

from pathlib import Path

import pytest

from runs.services import trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"


@pytest.fixture
def engine(transactional_db):
    with use_workflows(WORKFLOWS), in_process_worker(threads=4) as broker:
        yield broker


def run_with(side: str):
    workflow = Workflow.objects.get(slug="branch_sides")
    return wait_for_run(trigger_run(workflow=workflow, parameters={"side": side}))


def states(run) -> dict[str, str]:
    return dict(run.task_runs.values_list("task_name", "state"))


def test_the_chosen_side_runs_and_the_other_is_skipped_with_what_needs_it(engine):
    run = run_with("left")
    assert run.state == "success"
    assert states(run) == {
        "choose": "success",
        "left": "success",
        "right": "skipped",
        "after_right": "skipped",  # all_success after a skip is skipped
        "join": "success",  # none_failed runs after a skip
    }
    assert run.task_runs.get(task_name="right").note == "Skipped: branch 'choose' chose left."


def test_the_other_side_can_be_chosen(engine):
    run = run_with("right")
    assert (states(run)["left"], states(run)["right"], states(run)["after_right"]) == (
        "skipped",
        "success",
        "success",
    )


def test_an_unknown_name_fails_the_branch_naming_the_choices(engine):
    run = run_with("middle")
    choose = run.task_runs.get(task_name="choose")
    assert (run.state, choose.state) == ("failed", "failed")
    assert choose.error == (
        "branch 'choose' returned 'middle', which is not a step right after it: "
        "choose among 'left', 'right'"
    )
    assert states(run)["left"] == states(run)["right"] == "upstream_failed"


def test_returning_nothing_fails_the_branch_clearly(engine):
    run = run_with("none")
    choose = run.task_runs.get(task_name="choose")
    assert choose.state == "failed"
    assert choose.error.startswith("branch 'choose' returned None: it must return the name")
