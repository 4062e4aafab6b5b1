"""The statements every task runs are prepared once per PostgreSQL connection, then reused."""

from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from runs.execution.finish import end_attempt
from runs.execution.outcome import Outcome
from runs.execution.statements import claim_task_run
from runs.services import trigger_run
from runs.testing import stub_broker, use_workflows
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"


@pytest.fixture
def world(postgres, transactional_db):
    with use_workflows(WORKFLOWS), stub_broker():
        yield


def prepared() -> dict[str, int]:
    """This session's prepared statements: their text, and how often each was executed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans + custom_plans FROM pg_prepared_statements "
            "WHERE NOT from_sql"
        )
        return dict(cursor.fetchall())


def _kind(text: str) -> str:
    if "attempt = attempt + 1" in text:
        return "claim"
    if text.startswith("UPDATE \"runs_taskrun\" SET state = 'success', finished_at = $1"):
        return "success"
    if text.startswith('SELECT 1 FROM "runs_taskrun" WHERE run_id = $1'):
        return "tasks left"
    return text


def run_one_task() -> str:
    run = trigger_run(workflow=Workflow.objects.get(slug="single"), parameters={})
    task_run = claim_task_run(run.task_runs.get().pk)
    state = end_attempt(task_run, Outcome("success", result={"rows": 3}), options=None)
    run.refresh_from_db()
    assert (state, run.state, run.task_runs.get().result) == ("success", "success", {"rows": 3})
    return state


def test_a_task_prepares_its_claim_success_and_end_check_once(world):
    run_one_task()
    after_one = prepared()
    run_one_task()
    after_two = prepared()

    kinds = sorted(_kind(text) for text in after_one)
    assert kinds == ["claim", "success", "tasks left"]
    assert after_two.keys() == after_one.keys()  # the second task reused them
    assert all(after_two[text] == after_one[text] + 1 for text in after_one)


def test_a_rollback_on_the_connection_does_not_break_the_next_task(world):
    run_one_task()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        Workflow.objects.update(description="changed")
        1 / 0  # noqa: B018

    assert run_one_task() == "success"
    assert not Workflow.objects.filter(description="changed").exists()


def test_django_s_query_log_still_shows_each_statement_with_its_values(world):
    run = trigger_run(workflow=Workflow.objects.get(slug="single"), parameters={})
    task_run_id = run.task_runs.get().pk

    with CaptureQueriesContext(connection) as queries:
        claim_task_run(task_run_id)

    assert [q["sql"] for q in queries.captured_queries if f"id = {task_run_id}" in q["sql"]]
