"""A database connection lost mid-statement: claims and finishes are retried, and recorded once.

The worst case is a commit that succeeded but whose answer was lost: the retry
must recognise its own write instead of failing, recording twice, or leaving
the run stuck. The connection loss is simulated here (SQLite's in-memory test
database cannot be cut); tests/integration/test_db_restart.py restarts a real
PostgreSQL.
"""

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import OperationalError, transaction
from dramatiq.message import Message

from runs import downstream, recovery
from runs.execution import finish, reconnect, statements
from runs.execution.finish import end_attempt
from runs.execution.outcome import Outcome
from runs.execution.statements import claim_task_run
from runs.models import TaskAttempt, TaskRun
from runs.scheduler import Scheduler
from runs.services import trigger_run
from runs.testing import stub_broker, use_workflows
from workflows.models import Workflow

WORKFLOWS = Path(__file__).parent / "integration" / "workflows"
LOST = "server closed the connection unexpectedly"


@pytest.fixture
def lost(monkeypatch, settings):
    # Every connection error counts as lost: SQLite's test database stays usable.
    monkeypatch.setattr(reconnect, "connection_lost", lambda exc: True)
    settings.BATON_DB_RETRY_SECONDS = 5


@pytest.fixture
def broker(lost, transactional_db):
    with use_workflows(WORKFLOWS), stub_broker() as broker:
        yield broker


def messages(broker) -> list[int]:
    """The task run ids of the messages waiting in the broker."""
    queues = [queue for name, queue in broker.queues.items() if not name.endswith("XQ")]
    return [Message.decode(data).args[0] for queue in queues for data in queue.queue]


def fail_once(monkeypatch, module, name: str, *, after_commit: bool = False):
    """``module.name`` raises a lost connection on its first call (after its work, if asked)."""
    real, calls = getattr(module, name), []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            return real(*args, **kwargs)
        if not after_commit:
            raise OperationalError(LOST)
        result = real(*args, **kwargs)

        def lose_the_answer():
            raise OperationalError(LOST)

        # Runs first after the commit, so the messages registered after it are never sent.
        transaction.on_commit(lose_the_answer)
        return result

    monkeypatch.setattr(module, name, flaky)
    return calls


def claimed(run, name: str) -> TaskRun:
    task_run = claim_task_run(run.task_runs.get(task_name=name).pk)
    assert task_run is not None
    return task_run


def test_a_claim_whose_answer_was_lost_is_recognised_by_its_retry(broker, monkeypatch):
    run = trigger_run(workflow=Workflow.objects.get(slug="single"), parameters={})
    calls = fail_once(monkeypatch, statements, "run_info")  # after the UPDATE committed

    task_run = claim_task_run(run.task_runs.get().pk)

    assert len(calls) == 2
    assert (task_run.state, task_run.attempt) == ("running", 1)
    stored = TaskRun.objects.get(pk=task_run.pk)
    assert (stored.state, stored.attempt, stored.worker) == ("running", 1, task_run.worker)
    assert claim_task_run(task_run.pk) is None  # a second message still finds it taken


def _statements_ending_a_success() -> list[str]:
    # PostgreSQL records a success and queues what it made ready in one statement.
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return ["_succeed_and_queue"]
    return ["record_success", "_queue_finished"]


@pytest.mark.parametrize("statement", _statements_ending_a_success())
def test_a_finish_whose_commit_answer_was_lost_is_recorded_once(broker, monkeypatch, statement):
    run = trigger_run(workflow=Workflow.objects.get(slug="data_edge"), parameters={"n": 3})
    produce = claimed(run, "produce")
    sent_before = messages(broker)
    calls = fail_once(monkeypatch, downstream, statement, after_commit=True)

    state = end_attempt(
        produce, Outcome("success", result={"n": 3, "items": [0, 1, 2]}), options=None
    )

    assert (state, len(calls)) == ("success", 2)
    tasks = dict(run.task_runs.values_list("task_name", "state"))
    assert tasks == {"produce": "success", "consume": "queued"}
    consume = run.task_runs.get(task_name="consume")
    # The lost commit's message for consume is sent by the retry, once.
    assert messages(broker) == [*sent_before, consume.pk]
    assert not TaskAttempt.objects.exists()


def test_a_failure_whose_commit_answer_was_lost_keeps_one_attempt(broker, monkeypatch):
    run = trigger_run(workflow=Workflow.objects.get(slug="data_edge"), parameters={"n": 3})
    produce = claimed(run, "produce")
    fail_once(monkeypatch, finish, "_record", after_commit=True)

    assert end_attempt(produce, Outcome.failed("boom", retryable=False), options=None) == "failed"

    assert list(TaskAttempt.objects.values_list("number", "error")) == [(1, "boom")]
    run.refresh_from_db()
    assert run.state == "failed"


def test_a_last_task_whose_connection_broke_after_its_update_still_ends_the_run(
    broker, monkeypatch
):
    run = trigger_run(workflow=Workflow.objects.get(slug="single"), parameters={})
    noop = claimed(run, "noop")
    calls = fail_once(monkeypatch, finish, "run_has_active_tasks")  # after record_success

    assert end_attempt(noop, Outcome("success", result=None), options=None) == "success"

    assert len(calls) == 2
    run.refresh_from_db()
    assert run.state == "success"
    assert not TaskAttempt.objects.exists()


def test_an_outage_longer_than_the_retry_time_is_raised(lost, monkeypatch, settings):
    settings.BATON_DB_RETRY_SECONDS = 0.3
    monkeypatch.setattr(reconnect, "_LONGEST_PAUSE", 0.05)
    calls = []

    @reconnect.survives_outages
    def never_answers():
        calls.append(1)
        raise OperationalError(LOST)

    with pytest.raises(OperationalError):
        never_answers()
    assert len(calls) > 2  # retried, then given up


def test_no_retry_inside_a_transaction_nor_for_other_errors(lost, transactional_db, monkeypatch):
    calls = []

    @reconnect.survives_outages
    def fails():
        calls.append(1)
        raise OperationalError(LOST)

    with pytest.raises(OperationalError), transaction.atomic():
        fails()  # the transaction is the caller's to retry
    monkeypatch.setattr(reconnect, "connection_lost", lambda exc: False)
    with pytest.raises(OperationalError):
        fails()  # e.g. SQLite's "database is locked": not an outage
    assert len(calls) == 2


def test_an_outage_is_logged_once_and_its_end_once(lost, monkeypatch, caplog):
    monkeypatch.setattr(reconnect, "DATABASE", reconnect.Outage("Database"))
    monkeypatch.setattr(reconnect, "_FIRST_PAUSE", 0.01)
    monkeypatch.setattr(reconnect, "_LONGEST_PAUSE", 0.01)
    failures = iter(range(20))

    @reconnect.survives_outages
    def down_for_a_while():
        if next(failures, None) is not None:
            raise OperationalError(LOST)
        return "answered"

    with caplog.at_level(logging.WARNING, logger="runs.execution.reconnect"):
        assert down_for_a_while() == "answered"
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"Database unreachable, retrying… ({LOST})")
    assert lines[1].startswith("Database back after ")


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_the_scheduler_loop_survives_a_database_error(broker, monkeypatch, caplog):
    scheduler = Scheduler(clock=Clock(datetime(2026, 5, 4, 12, tzinfo=UTC)))
    monkeypatch.setattr(reconnect, "DATABASE", reconnect.Outage("Database"))
    monkeypatch.setattr("runs.scheduler.DATABASE", reconnect.DATABASE)
    real_sweep, ticks = recovery.sweep, []

    def sweep(now, **kwargs):
        ticks.append(1)
        if len(ticks) <= 4:  # two ticks, each tried twice
            raise OperationalError(LOST)
        return real_sweep(now, **kwargs)

    monkeypatch.setattr(recovery, "sweep", sweep)
    with caplog.at_level(logging.WARNING):
        assert scheduler.safe_tick() == scheduler.max_sleep
        assert scheduler.safe_tick() == scheduler.max_sleep
        assert scheduler.safe_tick() == 1.0
    assert len(ticks) == 5
    lines = [r.getMessage() for r in caplog.records if r.name == "runs.execution.reconnect"]
    assert [line.split(" (")[0].split(" after")[0] for line in lines] == [
        "Database unreachable, retrying…",
        "Database back",
    ]
    assert scheduler.database_back_at == scheduler.clock()


def test_no_worker_is_declared_dead_right_after_an_outage(broker, settings):
    settings.BATON_HEARTBEAT_TIMEOUT = 60
    noon = datetime(2026, 5, 4, 12, tzinfo=UTC)
    run = trigger_run(workflow=Workflow.objects.get(slug="single"), parameters={})
    TaskRun.objects.filter(run=run).update(
        state="running", attempt=1, started_at=noon, heartbeat_at=noon
    )
    back = noon + timedelta(minutes=5)  # every heartbeat is stale after the outage
    later = back + timedelta(seconds=30)
    assert recovery.recover_dead_workers(later, heartbeats_since=back) == 0
    assert run.task_runs.get().state == "running"
    assert recovery.recover_dead_workers(back + timedelta(seconds=61), heartbeats_since=back) == 1
    assert run.task_runs.get().state == "failed"


def test_the_scheduler_loop_survives_a_broker_outage(broker, monkeypatch, caplog):
    scheduler = Scheduler(clock=Clock(datetime(2026, 5, 4, 12, tzinfo=UTC)))
    monkeypatch.setattr("runs.scheduler.BROKER", reconnect.Outage("Broker"))
    real_sweep, ticks = recovery.sweep, []

    def sweep(now, **kwargs):
        ticks.append(1)
        if len(ticks) <= 2:
            raise redis.ConnectionError(
                "Error 111 connecting to 127.0.0.1:6379. Connection refused."
            )
        return real_sweep(now, **kwargs)

    monkeypatch.setattr(recovery, "sweep", sweep)
    with caplog.at_level(logging.WARNING):
        assert [scheduler.safe_tick() for _ in range(3)] == [scheduler.max_sleep] * 2 + [1.0]
    lines = [r.getMessage() for r in caplog.records if r.name == "runs.execution.reconnect"]
    assert len(lines) == 2, lines
    assert lines[0].startswith("Broker unreachable, retrying… (Error 111")
    assert lines[1].startswith("Broker back after")
