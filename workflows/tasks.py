"""``@task`` and ``shell(...)``: the steps of a workflow."""

import functools
import inspect
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from django.db import models

from .errors import DefinitionError
from .graph import current_builder
from .plain_text import plain_text
from .references import ParamRef, Secret, resolve, walk
from .requirements import checked_python, normalized_requirements

if TYPE_CHECKING:
    from .containers import ContainerSpec


class TriggerRule(models.TextChoices):
    """When a task may start, given the final states of its upstream tasks."""

    ALL_SUCCESS = "all_success", "all upstream tasks succeeded"
    ALL_DONE = "all_done", "all upstream tasks finished, whatever their state"
    ONE_FAILED = "one_failed", "at least one upstream task failed"
    NONE_FAILED = "none_failed", "no upstream task failed (skipped is fine)"


@dataclass(frozen=True)
class TaskOptions:
    retries: int = 0
    retry_delay: timedelta = timedelta(seconds=30)
    retry_backoff: bool = False
    max_retry_delay: timedelta = timedelta(hours=1)
    timeout: timedelta | None = None
    queue: str = "default"
    trigger_rule: str = TriggerRule.ALL_SUCCESS
    # None: the workflow's default applies; () or no python: the task runs in the worker.
    requirements: tuple[str, ...] | None = None
    python: str | None = None
    pool: str | None = None  # a Pool's name (runs.models.Pool): its slots limit this task
    priority: int = 0  # in a full pool, the higher starts first

    def delay_before_attempt(self, attempt: int) -> timedelta:
        """Wait before ``attempt`` (2 for the first retry): doubled each time with backoff."""
        if not self.retry_backoff:
            return self.retry_delay
        return min(self.retry_delay * 2 ** (attempt - 2), self.max_retry_delay)

    def checked(self, where: str) -> "TaskOptions":
        problems = []
        if not isinstance(self.retries, int) or self.retries < 0:
            problems.append(f"retries must be a whole number ≥ 0, not {self.retries!r}")
        for name in ("retry_delay", "max_retry_delay"):
            if not isinstance(getattr(self, name), timedelta):
                problems.append(f"{name} must be a datetime.timedelta")
        if self.timeout is not None and not (
            isinstance(self.timeout, timedelta) and self.timeout.total_seconds() > 0
        ):
            problems.append("timeout must be a positive datetime.timedelta or None")
        if not isinstance(self.queue, str) or not self.queue.replace("_", "").isalnum():
            problems.append(f"queue must be a name of letters, digits and _, not {self.queue!r}")
        if self.pool is not None and not (
            isinstance(self.pool, str) and POOL_NAME.fullmatch(self.pool)
        ):
            problems.append(
                f"pool must be the name of a pool (letters, digits, _, - and .), "
                f"such as 'warehouse', not {self.pool!r}"
            )
        if not isinstance(self.priority, int) or isinstance(self.priority, bool):
            problems.append(f"priority must be a whole number, not {self.priority!r}")
        if self.trigger_rule not in TriggerRule.values:
            allowed = ", ".join(TriggerRule.values)
            problems.append(f"trigger_rule {self.trigger_rule!r} is not one of: {allowed}")
        if problems:
            raise DefinitionError(f"{where}: " + "; ".join(problems))
        return self


POOL_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")

# Step names appear in page and API addresses (/runs/7/tasks/<name>/log/).
STEP_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,149}")


def check_step_name(name, *, what: str, **where) -> str:
    """``name`` if it may name a step, else a DefinitionError saying what is allowed."""
    if not isinstance(name, str) or not STEP_NAME.fullmatch(name):
        raise DefinitionError(
            f"{what} name {name!r} is not allowed: use up to 150 letters (a-z, A-Z), digits, "
            f"_, - and . starting with a letter, digit or _, e.g. 'extract_eu'",
            **where,
        )
    return name


def _caller_location(depth=2) -> tuple[str, int]:
    frame = sys._getframe(depth)
    return frame.f_code.co_filename, frame.f_lineno


@dataclass(eq=False)
class TaskNode:
    """One step of a workflow graph. ``a >> b`` makes b wait for a."""

    name: str
    kind: str  # "python", "shell" or "container"
    options: TaskOptions
    file: str
    line: int
    definition: "TaskDefinition | None" = None
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    argv: list = field(default_factory=list)
    env: dict = field(default_factory=dict)
    cwd: str | None = None
    upstream: list[str] = field(default_factory=list)
    container: "ContainerSpec | None" = None  # image, limits… of a container step
    wait: object = None  # a workflows.waits.WaitSpec: re-checked until true
    approval: object = None  # a workflows.waits.ApprovalSpec (kind "approval")
    group: str = ""  # the ``with group(...)`` path it was declared in, e.g. "extract"
    branch: bool = False  # a ``@branch`` task: its result names the steps to follow
    # ``task.map(items)``: one instance per item, the item passed as ``map_argument``.
    mapped: bool = False
    map_over: object = None
    map_argument: str = ""

    @property
    def isolated(self) -> bool:
        """Whether it runs in an environment of its own (requirements or python given)."""
        return self.kind == "python" and bool(self.options.requirements or self.options.python)

    def add_upstream(self, other: "TaskNode") -> None:
        if other.name not in self.upstream:
            self.upstream.append(other.name)

    def __rshift__(self, other):
        for node in _as_nodes(other, self):
            node.add_upstream(self)
        return other

    def __rrshift__(self, other):
        for node in _as_nodes(other, self, ends="leaves"):
            self.add_upstream(node)
        return self

    def __lshift__(self, other):
        for node in _as_nodes(other, self, ends="leaves"):
            self.add_upstream(node)
        return other

    def __rlshift__(self, other):
        for node in _as_nodes(other, self):
            node.add_upstream(self)
        return self

    def __bool__(self):
        return True

    def references(self):
        """Every placeholder leaf in this task's arguments and, when mapped, its items."""
        yield from self.argument_references()
        if self.mapped:
            yield from walk(self.map_over)

    def argument_references(self):
        """The placeholders one call (one map instance) receives: not the mapped items."""
        return walk([self.args, self.kwargs, self.argv, self.env])

    def secrets(self) -> list[Secret]:
        return [leaf for leaf in self.references() if isinstance(leaf, Secret)]

    def resolve_call(self, *, params: dict, results: dict) -> tuple[tuple, dict]:
        """Positional and keyword arguments for a Python task, with placeholders filled."""
        return (
            resolve(self.args, params=params, results=results),
            resolve(self.kwargs, params=params, results=results),
        )

    def resolve_command(self, *, params: dict, results: dict) -> tuple[list[str], dict, str]:
        """argv, extra environment and working directory for a shell task."""
        argv = [plain_text(v) for v in resolve(self.argv, params=params, results=results)]
        env = resolve(self.env, params=params, results=results)
        return argv, {name: plain_text(value) for name, value in env.items()}, self.cwd


def _environment_options(options: dict, where: dict) -> dict:
    """``options`` with ``requirements`` read and normalized, ``python`` checked."""
    options = dict(options)
    if "requirements" in options:
        base = Path(where["file"]).resolve().parent
        options["requirements"] = normalized_requirements(
            options["requirements"], base=base, where=where
        )
    if "python" in options:
        options["python"] = checked_python(options["python"], where=where)
    return options


def _as_nodes(value, origin: TaskNode, *, ends: str = "roots") -> list[TaskNode]:
    """The steps ``value`` stands for; a group stands for its ``ends`` ("roots" or "leaves")."""
    nodes = []
    for item in value if isinstance(value, (list, tuple, set)) else [value]:
        nodes.extend(getattr(item, ends)() if hasattr(item, "leaves") else [item])
    for node in nodes:
        if not isinstance(node, TaskNode):
            raise DefinitionError(
                f"'>>' joins tasks, but task '{origin.name}' was joined to {node!r}",
                file=origin.file,
                line=origin.line,
            )
    return nodes


class TaskDefinition:
    """A Python function declared with ``@task``.

    Called inside a workflow body it adds a step and returns a reference to
    its future result. The plain function stays available as ``.fn`` for
    unit tests.
    """

    def __init__(self, fn: Callable, *, name: str, options: TaskOptions, branch: bool = False):
        self.fn = fn
        self.name = name
        self.options = options
        self.branch = branch  # a @branch task (workflows.branching)
        functools.update_wrapper(self, fn)

    def with_options(self, **overrides) -> "TaskDefinition":
        """A copy with other options: ``extract.with_options(name="extract_eu", retries=5)``."""
        name = overrides.pop("name", self.name)
        file, line = _caller_location()
        builder = current_builder()
        workflow = builder.workflow if builder else None
        check_step_name(name, what="task", workflow=workflow, file=file, line=line)
        where = f"task '{name}'"
        overrides = _environment_options(
            overrides, {"workflow": workflow, "file": file, "line": line}
        )
        options = replace(self.options, **overrides).checked(where)
        return TaskDefinition(self.fn, name=name, options=options, branch=self.branch)

    def map(self, items, **fixed) -> TaskNode:
        """One instance of this task per item of ``items``, known when the run gets there.

        ``items`` is an upstream task's result, a ``list[...]`` parameter or a list.
        Each item goes to the first parameter not given in ``fixed``
        (``square.map(numbers, factor=2)`` calls ``square(n, factor=2)`` for each n).
        Downstream tasks receive the list of the instances' results, in order.
        """
        from .mapping import mapped_node

        file, line = _caller_location()
        return mapped_node(self, items, fixed, file=file, line=line)

    def __call__(self, *args, **kwargs) -> TaskNode:
        file, line = _caller_location()
        builder = current_builder()
        if builder is None:
            raise DefinitionError(
                f"task '{self.name}' was called outside a workflow; call it inside a "
                f"@workflow function (or use {self.name}.fn(...) to run the plain function)",
                file=file,
                line=line,
            )
        try:
            inspect.signature(self.fn).bind(*args, **kwargs)
        except TypeError as exc:
            raise DefinitionError(
                f"task '{self.name}' called with the wrong arguments: {exc}",
                workflow=builder.workflow,
                file=file,
                line=line,
            ) from None
        node = TaskNode(
            name=builder.unique_name(self.name, self),
            kind="python",
            options=self.options,
            file=file,
            line=line,
            definition=self,
            args=args,
            kwargs=kwargs,
            branch=self.branch,
        )
        return builder.add(node)

    def __repr__(self):
        return f"<task {self.name}>"


def task(fn=None, *, name=None, **options):
    """Declare a Python function as a workflow task.

    Options: ``retries`` (int), ``retry_delay`` (timedelta), ``retry_backoff``
    (double the delay at each retry, capped by ``max_retry_delay``), ``timeout``
    (timedelta), ``queue`` (worker queue name), ``trigger_rule`` (see
    ``TriggerRule``), ``pool`` (a pool's name: its slots, set by admins, limit how
    many tasks using it run at once, across all workflows), ``priority`` (in a full
    pool, higher starts first) and ``name`` (defaults to the function name).
    Arguments and the return value travel as JSON.

    ``requirements`` (a list such as ``["pandas==2.2.3"]``, or a requirements file
    next to this file) and ``python`` (``"3.12"``, an interpreter of the worker
    machine) run the task in a cached environment of its own, built with uv; import
    those packages inside the function, since the worker loads this file too.
    """

    file, line = _caller_location()
    return declare_task(fn, name=name, options=options, file=file, line=line)


def declare_task(fn, *, name, options: dict, file: str, line: int, branch: bool = False):
    """What ``@task`` and ``@branch`` share: the checked definition, or its decorator."""
    options = _environment_options(options, {"file": file, "line": line})

    def decorate(func):
        task_name = func.__name__ if name is None else name
        checked = TaskOptions(**options).checked(f"task '{task_name}'")
        check_step_name(task_name, what="task", file=file, line=line)
        return TaskDefinition(func, name=task_name, options=checked, branch=branch)

    try:
        TaskOptions(**options)
    except TypeError as exc:
        what = "@branch" if branch else "@task"
        message = f"{what} got an unknown option: {exc}"
        raise DefinitionError(message, file=file, line=line) from None
    return decorate(fn) if fn is not None else decorate


def shell(name: str, argv: list, *, env: dict | None = None, cwd: str | None = None, **options):
    """Run any executable or script as a task, without a shell.

    ``argv`` is a list: its items may be strings, numbers, workflow parameters
    or upstream results; each is passed as one argument, never interpolated
    into a command line. ``env`` adds environment variables (values may be
    ``Secret``). Relative paths (the program and ``cwd``) are taken from the
    folder of the file declaring the workflow. Options are those of ``@task``.
    """
    file, line = _caller_location()
    builder = current_builder()
    if builder is None:
        raise DefinitionError(
            f"shell task '{name}' was declared outside a workflow", file=file, line=line
        )
    where = {"workflow": builder.workflow, "file": file, "line": line}
    check_step_name(name, what="shell task", **where)
    if {"requirements", "python"} & options.keys():
        raise DefinitionError(
            f"shell task '{name}': requirements and python apply to @task functions; a shell "
            f"step runs its own program",
            **where,
        )
    if isinstance(argv, str) or not isinstance(argv, (list, tuple)) or not argv:
        raise DefinitionError(
            f"shell task '{name}': argv must be a non-empty list of arguments such as "
            f"['scripts/backup.sh', '--site', site_id], not {argv!r} (Baton never runs a shell)",
            **where,
        )
    base = Path(file).resolve().parent
    program = argv[0]
    if isinstance(program, str) and "/" in program and not program.startswith("/"):
        argv = [str(base / program), *argv[1:]]
    try:
        opts = TaskOptions(**options).checked(f"shell task '{name}'")
    except TypeError as exc:
        raise DefinitionError(f"shell task '{name}': unknown option: {exc}", **where) from None
    node = TaskNode(
        name=builder.unique_name(name, None),
        kind="shell",
        options=opts,
        file=file,
        line=line,
        argv=list(argv),
        env=dict(env or {}),
        cwd=str(base / cwd) if cwd else str(base),
    )
    return builder.add(node)


__all__ = ["ParamRef", "Secret", "TaskDefinition", "TaskNode", "TaskOptions", "TriggerRule"]
