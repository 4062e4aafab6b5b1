"""Shell steps get each value as its plain text, the same in argv and in BATON_PARAM_*."""

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum
from pathlib import Path

import pytest

from runs.selectors import task_log
from runs.services import trigger_run
from runs.testing import in_process_worker, use_workflows, wait_for_run
from workflows.models import Workflow
from workflows.plain_text import plain_text

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"

PARAMETERS = {
    "day": "2026-11-29",
    "at": "2026-11-29T08:15:00+00:00",
    "clock": "07:30",
    "wait": 5400,
    "ratio": 2.5,
    "price": "2.50",
    "yes": True,
    "no": False,
    "count": 3,
    "nothing": None,
    "tags": ["a", "b c"],
    "extra": {"k": 1, "day": "2026-01-02"},
    "mode": "delta",
    "colour": "red",
    "word": "two words",
}
# (argv item, BATON_PARAM_ name) for each parameter, in the order the step lists them.
TEXTS = [
    ("2026-11-29", "DAY"),
    ("2026-11-29T08:15:00+00:00", "AT"),
    ("07:30:00", "CLOCK"),
    ("5400", "WAIT"),
    ("2.5", "RATIO"),
    ("2.50", "PRICE"),
    ("true", "YES"),
    ("false", "NO"),
    ("3", "COUNT"),
    ("", "NOTHING"),
    ('["a", "b c"]', "TAGS"),
    ('{"k": 1, "day": "2026-01-02"}', "EXTRA"),
    ("delta", "MODE"),
    ("red", "COLOUR"),
    ("two words", "WORD"),
]


@pytest.fixture
def engine(transactional_db):
    with use_workflows(WORKFLOWS), in_process_worker(threads=2):
        yield


def test_a_shell_step_gets_plain_text_in_argv_and_env(engine):
    workflow = Workflow.objects.get(slug="plain_values")
    run = wait_for_run(trigger_run(workflow=workflow, parameters=PARAMETERS))
    task = run.task_runs.get()
    assert task.state == "success", task.error
    lines = task_log(task_run=task).splitlines()
    argv = [line.removeprefix("argv=") for line in lines if line.startswith("argv=")]
    literals = ["7", "2.5", "true", ""]  # values written in the step's argv itself
    assert argv == [text for text, _name in TEXTS] + literals
    env = sorted(line for line in lines if line.startswith("BATON_PARAM_"))
    assert env == sorted(f"BATON_PARAM_{name}={text}" for text, name in TEXTS)


PARIS_WINTER = timezone(timedelta(hours=1))


class Size(Enum):
    SMALL = 1


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1E+2"), "100"),
        (timedelta(seconds=1.5), "1.5"),
        (datetime(2026, 11, 29, 8, 15, tzinfo=PARIS_WINTER), "2026-11-29T08:15:00+01:00"),
        (time(7, 30, 5), "07:30:05"),
        (Size.SMALL, "1"),
        ([date(2026, 11, 29), Decimal("2.5"), None, True], '["2026-11-29", "2.5", null, true]'),
        ({"où": "été"}, '{"où": "été"}'),
        (-0.25, "-0.25"),
    ],
)
def test_plain_text_of_values_a_step_may_receive(value, text):
    assert plain_text(value) == text
