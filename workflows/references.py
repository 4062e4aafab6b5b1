"""Placeholders used while a workflow body runs at import time.

The body of a ``@workflow`` function runs once to build the graph: its
parameters are ``ParamRef`` objects and task calls return ``TaskNode`` objects.
Both stand for values that only exist when the run happens; they are resolved
by ``resolve()`` in the worker.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from config.environment import UnreadableSecretFile, secret_from_environment

from .errors import DefinitionError


@dataclass(frozen=True)
class ParamRef:
    """A workflow parameter, as seen by the workflow body at build time."""

    name: str
    workflow: str

    def _runtime_only(self, what):
        raise DefinitionError(
            f"parameter '{self.name}' is only known when the workflow runs, so it cannot be "
            f"{what} in the workflow body; pass it to a task (or a shell argument) instead",
            workflow=self.workflow,
        )

    def __bool__(self):
        self._runtime_only("tested with if/and/or")

    def __str__(self):
        self._runtime_only("formatted into a string")

    def __format__(self, spec):
        self._runtime_only("formatted into a string")

    def __iter__(self):
        self._runtime_only("iterated over")


class MissingSecret(Exception):
    """A Secret's name is set neither in the environment nor in Django settings."""


@dataclass(frozen=True)
class Secret:
    """A value read from the environment (or Django settings) when the task runs.

    Its value is never stored in the database nor shown in the UI, and it is
    masked in task logs::

        shell("upload", ["./upload.sh"], env={"TOKEN": Secret("BILLING_TOKEN")})
    """

    name: str

    def resolve(self) -> str:
        try:
            value = secret_from_environment(self.name)  # NAME_FILE too (Docker secrets)
        except UnreadableSecretFile as exc:
            raise MissingSecret(f"secret '{self.name}': {exc}") from None
        if value is not None:
            return value
        value = getattr(settings, self.name, None)
        if value is None:
            raise MissingSecret(
                f"secret '{self.name}' is not set: define the environment variable {self.name} "
                f"on the worker machines (or a Django setting of that name)"
            )
        return str(value)

    def __repr__(self):
        return f"Secret({self.name!r})"


def encode(value: Any) -> Any:
    """JSON description of an argument, for the database and the UI (secrets by name only)."""
    from .tasks import TaskNode

    if isinstance(value, ParamRef):
        return {"$param": value.name}
    if isinstance(value, TaskNode):
        return {"$result": value.name}
    if isinstance(value, Secret):
        return {"$secret": value.name}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def resolve(value: Any, *, params: dict, results: dict) -> Any:
    """Replace placeholders by the run's parameter values, upstream results and secrets."""
    from .tasks import TaskNode

    if isinstance(value, ParamRef):
        return params[value.name]
    if isinstance(value, TaskNode):
        return results[value.name]
    if isinstance(value, Secret):
        return value.resolve()
    if isinstance(value, list):
        return [resolve(v, params=params, results=results) for v in value]
    if isinstance(value, tuple):
        return tuple(resolve(v, params=params, results=results) for v in value)
    if isinstance(value, dict):
        return {k: resolve(v, params=params, results=results) for k, v in value.items()}
    return value


def walk(value: Any):
    """Yield every leaf of a nested argument (lists, tuples and dict values)."""
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from walk(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    else:
        yield value
