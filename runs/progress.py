"""Moving a run forward: which tasks are ready, when the run is over, which waiting run starts.

Decisions about downstream tasks run inside the caller's transaction, which
holds the lock on the WorkflowRun row (``select_for_update``): they are taken
one at a time, so two upstream tasks ending together cannot both miss (or both
start) their common downstream task. Messages go out on commit.

A success takes no run lock: its downstream tasks are decided after its commit
(``runs.downstream``). So a decision here that leaves a task waiting for an upstream
task that may end meanwhile checks that task again after the commit.

The end of a run is also checked after each commit (``check_run_end_on_commit``):
a task that succeeds with nothing downstream (most tasks of a fan-out) ends
without taking the run's lock, so a check made before its commit may not see it.
Whichever transaction commits last then sees every task finished.
"""

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from workflows.models import Workflow

from .dispatch import send_after_commit
from .downstream import check_after_commit
from .models import TaskRun, WorkflowRun
from .notifications import events as notifications
from .states import ACTIVE_TASK_STATES, FAILED_TASK_STATES, RunState, TaskState
from .trigger_rules import Decision, decide

_IN_PROGRESS = tuple(state for state in ACTIVE_TASK_STATES if state != TaskState.PENDING)


@dataclass
class _Node:
    id: int
    state: str
    upstream: list
    downstream: list
    trigger_rule: str
    queue: str


_GRAPH_FIELDS = ("task_name", "id", "state", "upstream", "downstream", "trigger_rule", "queue")


def _load_graph(run_id: int) -> dict[str, _Node]:
    rows = TaskRun.objects.filter(run_id=run_id).values_list(*_GRAPH_FIELDS)
    return {name: _Node(*fields) for name, *fields in rows}


def advance_run(run: WorkflowRun, *, candidates: Iterable[str] | None, now) -> None:
    """Decide the pending tasks among ``candidates`` (None: every pending task of the run).

    Ready tasks are queued (and sent on commit); unsatisfiable ones become
    upstream_failed or skipped, which may decide their own downstream tasks in
    turn. When nothing is left to do, the run ends.
    """
    graph = None
    candidates = None if candidates is None else list(candidates)
    if candidates and _decided_from_candidates_alone(run.pk, candidates, now):
        return  # a candidate is still pending or was just queued: the run goes on
    if candidates is None or candidates:
        graph = _load_graph(run.pk)
        recheck = candidates  # the tasks whose upstream task this transaction just ended
        if candidates is None:
            candidates = [name for name, node in graph.items() if node.state == TaskState.PENDING]
            recheck = _waiting_on_progress(graph, candidates)
        queued = _decide(graph, candidates, now)
        check_after_commit(run.pk, [n for n in recheck if graph[n].state == TaskState.PENDING], now)
        if queued:
            return  # tasks were just queued: the run goes on
    finish_run_if_done(run, now=now, graph=graph)


def _decided_from_candidates_alone(run_id: int, candidates: list[str], now) -> bool:
    """The usual case without reading the whole run: every pending candidate waits or is ready.

    Reads the candidates and their upstream tasks' states only (a task ending upstream of a
    1,000-task fan-in reads 1,001 short rows, not the run's graph). Returns False, deciding
    nothing, when a candidate would be skipped or fail upstream (that decides its own
    downstream in turn) or none is pending (the run may be over): ``_decide`` on the whole
    graph does those.
    """
    rows = TaskRun.objects.filter(run_id=run_id, task_name__in=candidates, state=TaskState.PENDING)
    pending = {name: _Node(*fields) for name, *fields in rows.values_list(*_GRAPH_FIELDS)}
    if not pending:
        return False
    names = {name for node in pending.values() for name in node.upstream}
    upstream = TaskRun.objects.filter(run_id=run_id, task_name__in=names)
    state_of = dict(upstream.values_list("task_name", "state"))
    if not names <= state_of.keys():
        return False
    ready, waiting = [], []
    for name, node in pending.items():
        decision = decide(node.trigger_rule, [state_of[up] for up in node.upstream])
        if decision is Decision.READY:
            ready.append(node)
        elif decision is Decision.WAIT:
            waiting.append(name)
        else:
            return False
    if ready:
        TaskRun.objects.filter(pk__in=[n.id for n in ready]).move(TaskState.QUEUED, now=now)
        send_after_commit((n.id, n.queue) for n in ready)
    check_after_commit(run_id, waiting, now)
    return True


def _waiting_on_progress(graph: dict[str, _Node], pending: list[str]) -> list[str]:
    """The pending tasks with an upstream task in progress, which may end before the commit."""
    in_progress = {name for name, node in graph.items() if node.state in _IN_PROGRESS}
    return [name for name in pending if not in_progress.isdisjoint(graph[name].upstream)]


def _decide(graph: dict[str, _Node], candidates: list[str], now) -> int:
    """Queue the ready candidates, finish the unsatisfiable ones; returns how many were queued."""
    worklist = deque(dict.fromkeys(candidates))
    ready, finished = [], {Decision.UPSTREAM_FAILED: [], Decision.SKIPPED: []}
    while worklist:
        node = graph[worklist.popleft()]
        if node.state != TaskState.PENDING:
            continue
        decision = decide(node.trigger_rule, [graph[up].state for up in node.upstream])
        if decision is Decision.READY:
            node.state = TaskState.QUEUED
            ready.append(node)
        elif decision is not Decision.WAIT:
            node.state = decision.value
            finished[decision].append(node.id)
            worklist.extend(node.downstream)
    for decision, ids in finished.items():
        if ids:
            TaskRun.objects.filter(pk__in=ids).move(decision.value, now=now)
    if ready:
        TaskRun.objects.filter(pk__in=[n.id for n in ready]).move(TaskState.QUEUED, now=now)
        send_after_commit((n.id, n.queue) for n in ready)
    return len(ready)


def finish_run_if_done(run: WorkflowRun, *, now, graph: dict | None = None) -> bool:
    """End a running run whose tasks have all finished: failed if any failed, else success.

    Call with the run locked. When tasks are still active, the check is made
    again after the commit, in case they finished meanwhile without the lock.
    """
    if graph is not None:
        states = {node.state for node in graph.values()}
        active = bool(states & set(ACTIVE_TASK_STATES))
        failed = bool(states & set(FAILED_TASK_STATES))
    else:
        tasks = TaskRun.objects.filter(run=run)
        active = tasks.filter(state__in=ACTIVE_TASK_STATES).exists()
        failed = not active and tasks.filter(state__in=FAILED_TASK_STATES).exists()
    if active:
        check_run_end_on_commit(run.pk)
        return False
    target = RunState.FAILED if failed else RunState.SUCCESS
    if not WorkflowRun.objects.filter(pk=run.pk, state=RunState.RUNNING).move(target, now=now):
        return False
    run.state = target
    notifications.run_ended(run, target, now=now)  # the outbox row commits with the end
    start_waiting_runs(run.workflow_id, now=now)
    return True


def check_run_end_on_commit(run_id: int) -> None:
    """After the current transaction commits, end the run if its tasks have all finished."""
    transaction.on_commit(lambda: end_run_if_done(run_id))


def end_run_if_done(run_id: int) -> bool:
    """End the run if nothing is left to do, as seen by committed data (cheap when not).

    Safe to call at any time from anywhere (the scheduler's sweeps too).
    """
    if TaskRun.objects.filter(run_id=run_id, state__in=ACTIVE_TASK_STATES).exists():
        return False
    with transaction.atomic():
        run = WorkflowRun.objects.select_for_update().only("state", "workflow_id").get(pk=run_id)
        if run.state != RunState.RUNNING:
            return False
        return finish_run_if_done(run, now=timezone.now())


def start_run(run: WorkflowRun, *, now) -> bool:
    """Move a queued run to running and queue its ready tasks."""
    if not WorkflowRun.objects.filter(pk=run.pk).move(RunState.RUNNING, now=now):
        return False
    run.state = RunState.RUNNING
    advance_run(run, candidates=None, now=now)
    return True


def start_waiting_runs(workflow_id: int, *, now) -> int:
    """Start the oldest queued runs of a workflow while it has free slots."""
    workflow = Workflow.objects.select_for_update().only("max_active_runs").get(pk=workflow_id)
    free = free_slots(workflow)
    if free <= 0:
        return 0
    # skip_locked: a run locked by someone else (being cancelled) is not waited for,
    # which also keeps the lock order run → workflow free of cycles.
    waiting = (
        WorkflowRun.objects.filter(workflow_id=workflow_id, state=RunState.QUEUED)
        .order_by("created_at", "pk")
        .select_for_update(skip_locked=True)[:free]
    )
    return sum(start_run(run, now=now) for run in waiting)


def free_slots(workflow: Workflow) -> int:
    """How many more runs of ``workflow`` may run now (call with its row locked)."""
    running = WorkflowRun.objects.filter(workflow=workflow, state=RunState.RUNNING).count()
    return workflow.max_active_runs - running
