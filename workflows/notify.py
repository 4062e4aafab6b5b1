"""``Notify``: who hears about a workflow's runs, declared in code beside ``@workflow``.

Only the declaration lives here (``workflows`` knows nothing of runs); Baton's
``runs.notifications`` turns it into messages when a run fails, succeeds,
retries, runs long or misses its schedule.
"""

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from .errors import DefinitionError

EVENTS = ("failure", "success", "retry", "slow", "missed_schedule")
# A recipient: the workflow's owners, a group of users by name, a channel by name.
OWNERS = "owners"
GROUP_PREFIX, CHANNEL_PREFIX = "group:", "channel:"


class NotifyError(DefinitionError):
    """A ``Notify(...)`` that cannot work, reported with the file and line that wrote it."""


@dataclass(frozen=True)
class Notify:
    """A notification rule of a workflow: on which events, to whom.

    ``on``: one or more of ``"failure"``, ``"success"``, ``"retry"`` (a task is
    retried), ``"slow"`` (the run is still running after ``slower_than``) and
    ``"missed_schedule"`` (a schedule slot passed without a run).
    ``to``: ``"owners"`` (the users who may manage the workflow),
    ``"group:<name>"`` (a group of users, by e-mail) or ``"channel:<name>"``
    (a channel an admin set up: e-mail list, Slack, Teams or webhook)::

        @workflow(notify=[
            Notify(on="failure", to=["owners", "channel:ops-slack"]),
            Notify(on="slow", slower_than=timedelta(minutes=30), to="group:Data team"),
        ])
    """

    on: tuple[str, ...]
    to: tuple[str, ...]
    slower_than: timedelta | None = None

    def __init__(
        self,
        *,
        on: str | Iterable[str],
        to: str | Iterable[str],
        slower_than: timedelta | None = None,
    ):
        try:
            self._set(on, to, slower_than)
        except NotifyError as exc:
            caller = sys._getframe(1)  # the workflow file's line that wrote Notify(...)
            raise NotifyError(
                exc.reason, file=caller.f_code.co_filename, line=caller.f_lineno
            ) from None

    def _set(self, on, to, slower_than) -> None:
        events = _as_tuple(on, "on")
        recipients = _as_tuple(to, "to")
        for event in events:
            if event not in EVENTS:
                raise NotifyError(
                    f"Notify(on=...) does not know the event {event!r}; "
                    f"use one of {', '.join(EVENTS)}"
                )
        for recipient in recipients:
            _check_recipient(recipient)
        if slower_than is not None and (
            not isinstance(slower_than, timedelta) or slower_than.total_seconds() <= 0
        ):
            raise NotifyError("Notify(slower_than=...) must be a positive datetime.timedelta")
        if ("slow" in events) != (slower_than is not None):
            raise NotifyError(
                "Notify(on='slow') needs slower_than=timedelta(...), and slower_than "
                "only makes sense with on='slow'"
            )
        object.__setattr__(self, "on", events)
        object.__setattr__(self, "to", recipients)
        object.__setattr__(self, "slower_than", slower_than)


def _as_tuple(value, name: str) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else tuple(value or ())
    if not items:
        raise NotifyError(f"Notify({name}=...) needs at least one value")
    if not all(isinstance(item, str) for item in items):
        raise NotifyError(f"Notify({name}=...) takes text values, not {items!r}")
    return tuple(dict.fromkeys(item.strip() for item in items))


def _check_recipient(recipient: str) -> None:
    if recipient == OWNERS:
        return
    for prefix in (GROUP_PREFIX, CHANNEL_PREFIX):
        if recipient.startswith(prefix) and recipient[len(prefix) :].strip():
            return
    raise NotifyError(
        f"Notify(to=...) does not understand {recipient!r}: use 'owners', "
        f"'group:<group name>' or 'channel:<channel name>'"
    )


def check_notify(notify, where: dict) -> tuple[Notify, ...]:
    """``@workflow(notify=...)`` as a tuple of rules: one ``Notify``, a list of them, or None."""
    if notify is None:
        return ()
    rules = (notify,) if isinstance(notify, Notify) else notify
    try:
        rules = tuple(rules)
    except TypeError:
        rules = (rules,)
    for rule in rules:
        if not isinstance(rule, Notify):
            raise DefinitionError(
                f"notify= takes Notify(...) rules (from workflows import Notify), not {rule!r}",
                **where,
            )
    return rules
