"""What a request changed in the database, for the permission matrices.

    before = Snapshot.take()
    response = client.post(...)
    change = changes_since(before)
    assert not change, change                 # a refusal changed nothing
    assert change.verbs == ["run.cancelled"]  # an action did what it says, and only that

A snapshot holds every row a page or API action can touch: runs and task runs
(states, parameters, notes), whether each workflow is paused, object permissions
of users and groups, group memberships and group permissions (roles on all
workflows), API tokens, and the audit trail (the events written since).
"""

from collections import namedtuple
from dataclasses import dataclass, fields

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from guardian.models import GroupObjectPermission, UserObjectPermission

from accounts.models import ApiToken
from audit.models import AuditEvent
from runs.models import TaskRun, WorkflowRun
from workflows.models import Workflow

RunRow = namedtuple("RunRow", "workflow number state parameters trigger started_by")
TaskRow = namedtuple("TaskRow", "run task state attempt max_attempts note")
TokenRow = namedtuple("TokenRow", "user name expires_at revoked_at")  # not last_used_at: a hint
Event = namedtuple("Event", "verb workflow actor details")


@dataclass(frozen=True)
class Snapshot:
    runs: dict  # pk → RunRow
    tasks: dict  # pk → TaskRow
    paused: dict  # workflow slug → is_paused
    object_permissions: frozenset  # ("user" | "group", holder pk, codename, workflow pk)
    memberships: frozenset  # (user pk, group pk)
    group_permissions: frozenset  # (group pk, codename)
    tokens: dict  # pk → TokenRow
    last_event: int  # the id of the newest audit event

    @classmethod
    def take(cls) -> "Snapshot":
        runs = WorkflowRun.objects.values_list(
            "pk", "workflow__slug", "number", "state", "parameters", "trigger", "started_by"
        )
        tasks = TaskRun.objects.values_list(
            "pk", "run", "task_name", "state", "attempt", "max_attempts", "note"
        )
        tokens = ApiToken.objects.values_list("pk", "user", "name", "expires_at", "revoked_at")
        return cls(
            runs={pk: RunRow(*row) for pk, *row in runs},
            tasks={pk: TaskRow(*row) for pk, *row in tasks},
            paused=dict(Workflow.objects.values_list("slug", "is_paused")),
            object_permissions=_object_permissions(),
            memberships=frozenset(
                get_user_model().groups.through.objects.values_list("user", "group")
            ),
            group_permissions=frozenset(
                Group.permissions.through.objects.values_list("group", "permission__codename")
            ),
            tokens={pk: TokenRow(*row) for pk, *row in tokens},
            last_event=AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0,
        )


def _object_permissions() -> frozenset:
    rows = {
        ("user", *row)
        for row in UserObjectPermission.objects.values_list(
            "user", "permission__codename", "object_pk"
        )
    }
    rows |= {
        ("group", *row)
        for row in GroupObjectPermission.objects.values_list(
            "group", "permission__codename", "object_pk"
        )
    }
    return frozenset((kind, holder, codename, int(pk)) for kind, holder, codename, pk in rows)


@dataclass(frozen=True)
class Change:
    """The differences between two snapshots; false when nothing changed."""

    runs: dict  # pk → (before or None, after or None), for each added, removed or changed run
    tasks: dict  # pk → (before or None, after or None)
    paused: dict  # slug → (before, after)
    permissions_added: frozenset
    permissions_removed: frozenset
    memberships: frozenset  # added or removed (user pk, group pk)
    group_permissions: frozenset  # added or removed (group pk, codename)
    tokens: dict  # pk → (before or None, after or None)
    events: tuple  # the audit events written since, oldest first (Event tuples)

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def __str__(self) -> str:
        changed = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}
        return "changed: " + (
            "; ".join(f"{name}={value!r}" for name, value in changed.items()) or "nothing"
        )

    @property
    def verbs(self) -> list[str]:
        return [event.verb for event in self.events]

    @property
    def new_runs(self) -> list[RunRow]:
        return [after for before, after in self.runs.values() if before is None]

    def task_states(self) -> dict:
        """(run pk, task name) → (state before, state after), for the task runs that changed."""
        return {
            (row.run, row.task): (before and before.state, after and after.state)
            for before, after in self.tasks.values()
            for row in [after or before]
        }

    def touched(self) -> set[str]:
        """The names of the kinds of rows that changed (``runs``, ``tasks``, ``events``…)."""
        return {f.name for f in fields(self) if getattr(self, f.name)}


def changes_since(before: Snapshot) -> Change:
    after = Snapshot.take()
    events = AuditEvent.objects.filter(id__gt=before.last_event).order_by("id")
    return Change(
        runs=_rows_changed(before.runs, after.runs),
        tasks=_rows_changed(before.tasks, after.tasks),
        paused={
            slug: (before.paused.get(slug), paused)
            for slug, paused in after.paused.items()
            if before.paused.get(slug) != paused
        },
        permissions_added=after.object_permissions - before.object_permissions,
        permissions_removed=before.object_permissions - after.object_permissions,
        memberships=after.memberships ^ before.memberships,
        group_permissions=after.group_permissions ^ before.group_permissions,
        tokens=_rows_changed(before.tokens, after.tokens),
        events=tuple(
            Event(event.verb, event.workflow_slug, event.actor_id, event.details)
            for event in events
        ),
    )


def _rows_changed(before: dict, after: dict) -> dict:
    return {
        pk: (before.get(pk), after.get(pk))
        for pk in before.keys() | after.keys()
        if before.get(pk) != after.get(pk)
    }


def leaked(body: bytes | str, names, *, besides: str = "") -> list[str]:
    """The ``names`` that appear in a response body, ignoring ``besides`` (the URL it echoes)."""
    text = body.decode() if isinstance(body, bytes) else body
    text = text.replace(besides, "") if besides else text
    return [name for name in names if name.lower() in text.lower()]


# What each action must have done, and nothing more. ``by`` is the user who acted.


def assert_unchanged(change: Change) -> None:
    assert not change, change


def assert_run_started(change: Change, *, workflow, parameters: dict, by, trigger: str) -> None:
    """One new run of ``workflow`` with these parameters, its task runs, and its event."""
    assert change.touched() == {"runs", "tasks", "events"}, change
    (run,) = change.new_runs
    assert (run.workflow, run.parameters, run.trigger, run.started_by) == (
        workflow.slug,
        parameters,
        trigger,
        by.pk,
    )
    (run_pk,) = change.runs
    assert {row.run for _before, row in change.tasks.values()} == {run_pk}
    assert all(before is None for before, _after in change.tasks.values()), change
    _assert_events(change, "run.triggered", workflow, by)


def assert_run_cancelled(change: Change, *, run, by) -> None:
    """The running run is cancelled, so are its tasks not started; nothing else moved."""
    assert change.touched() <= {"runs", "tasks", "events"}, change
    assert list(change.runs) == [run.pk], change
    assert _state(change.runs[run.pk]) == ("running", "cancelled"), change
    assert change.tasks, "no task was cancelled"
    for (run_pk, _task), (_before, after) in change.task_states().items():
        assert (run_pk, after) == (run.pk, "cancelled"), change
    _assert_events(change, "run.cancelled", run.workflow, by)


def assert_tasks_run_again(change: Change, *, run, tasks, verb: str, by) -> None:
    """The finished run is open again with ``tasks`` waiting to run (their event written)."""
    assert change.touched() == {"runs", "tasks", "events"}, change
    assert list(change.runs) == [run.pk], change
    before, after = _state(change.runs[run.pk])
    assert before in ("failed", "cancelled") and after in ("queued", "running"), change
    states = change.task_states()
    assert {task for _run, task in states} == set(tasks), change
    for (run_pk, _task), (_before, after) in states.items():
        assert run_pk == run.pk and after in ("pending", "queued"), change
    _assert_events(change, verb, run.workflow, by)


def assert_task_marked(change: Change, *, run, task: str, state: str, reason: str, by) -> None:
    """The task has the state and the reason; only its run may follow; the event says so."""
    assert change.touched() <= {"runs", "tasks", "events"}, change
    assert set(change.runs) <= {run.pk}, change
    (pk,) = change.tasks
    _before, after = change.tasks[pk]
    assert (after.run, after.task, after.state) == (run.pk, task, state), change
    assert reason in after.note, change
    _assert_events(change, "task.marked", run.workflow, by)
    assert change.events[0].details["reason"] == reason


def assert_paused(change: Change, *, workflow, paused: bool, by) -> None:
    assert change.touched() == {"paused", "events"}, change
    assert change.paused == {workflow.slug: (not paused, paused)}, change
    verb = "workflow.paused" if paused else "workflow.unpaused"
    _assert_events(change, verb, workflow, by)


def assert_role_given(change: Change, *, holder, workflow, had: frozenset, now: frozenset, by):
    """``holder`` (a user) went from the permissions ``had`` to ``now`` on ``workflow``, alone."""
    assert change.touched() <= {"permissions_added", "permissions_removed", "events"}, change
    assert change.permissions_added == {("user", holder.pk, c, workflow.pk) for c in now - had}
    assert change.permissions_removed == {("user", holder.pk, c, workflow.pk) for c in had - now}
    _assert_events(change, "role.granted" if now else "role.revoked", workflow, by)


def _assert_events(change: Change, verb: str, workflow, by) -> None:
    assert [(e.verb, e.workflow, e.actor) for e in change.events] == [
        (verb, workflow.slug, by.pk)
    ], change


def _state(pair) -> tuple:
    before, after = pair
    return (before and before.state, after and after.state)
