"""``@workflow``: a Python function whose body declares a graph of tasks."""

import hashlib
import inspect
import json
import os
import re
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from .branching import check_branches
from .containers import container_arguments
from .errors import DefinitionError
from .graph import GraphBuilder
from .mapping import check_mapped_parameters
from .notify import Notify, check_notify
from .parameters import ParameterSchema
from .references import ParamRef, encode
from .requirements import checked_python, normalized_requirements


@dataclass(eq=False)
class WorkflowDefinition:
    """A declared workflow: its options, parameter schema and task graph."""

    fn: object
    slug: str
    title: str
    description: str
    schedule: str | timedelta | None
    tags: list[str]
    owners: list[str]
    max_active_runs: int
    catchup: bool
    timeout: timedelta | None
    file: str
    line: int
    requirements: tuple[str, ...] | None = None  # the default of its @task steps
    python: str | None = None
    notify: tuple[Notify, ...] = ()
    parameters: ParameterSchema = field(init=False)
    tasks: dict = field(init=False)

    def __post_init__(self):
        self.parameters = ParameterSchema.from_function(
            self.fn, workflow=self.slug, file=self.file, line=self.line
        )
        self.tasks = {node.name: node for node in self._build_graph()}
        check_mapped_parameters(self)
        check_branches(self)
        self._apply_environment_defaults()

    def _apply_environment_defaults(self) -> None:
        for node in self.tasks.values():
            if node.kind != "python":
                continue
            own = node.options
            node.options = replace(
                own,
                requirements=self.requirements if own.requirements is None else own.requirements,
                python=self.python if own.python is None else own.python,
            )

    def _build_graph(self) -> list:
        builder = GraphBuilder(self.slug, self.file, self.line)
        refs = {p.name: ParamRef(p.name, self.slug) for p in self.parameters.parameters}
        with builder.active():
            try:
                self.fn(**refs)
            except DefinitionError as exc:
                if exc.file:
                    raise
                line = _line_in(exc.__traceback__, self.fn) or self.line
                raise DefinitionError(
                    exc.reason, workflow=self.slug, file=self.file, line=line
                ) from None
        if not builder.nodes:
            raise DefinitionError(
                "the workflow declares no task: call at least one @task or shell() in its body",
                workflow=self.slug,
                file=self.file,
                line=self.line,
            )
        return builder.ordered_nodes()

    def downstream(self, name: str) -> list[str]:
        return [n.name for n in self.tasks.values() if name in n.upstream]

    def task_specs(self) -> list[dict]:
        """The graph as plain data: what ``sync_workflows`` stores in TaskSpec rows."""
        specs = []
        for position, node in enumerate(self.tasks.values()):
            o = node.options
            specs.append(
                {
                    "name": node.name,
                    "kind": node.kind,
                    "position": position,
                    "upstream": list(node.upstream),
                    "arguments": _arguments_of(node),
                    "retries": o.retries,
                    "retry_delay": o.retry_delay,
                    "retry_backoff": o.retry_backoff,
                    "max_retry_delay": o.max_retry_delay,
                    "timeout": o.timeout,
                    "queue": o.queue,
                    "trigger_rule": str(o.trigger_rule),
                    "requirements": list(o.requirements or ()),
                    "python": o.python or "",
                    "pool": o.pool or "",
                    "priority": o.priority,
                    "source_file": node.file,
                    "source_line": node.line,
                    "group": node.group,
                }
            )
        return specs

    def schedule_text(self) -> str:
        if self.schedule is None:
            return ""
        if isinstance(self.schedule, timedelta):
            return f"every {int(self.schedule.total_seconds())}s"
        return self.schedule

    @cached_property
    def code_hash(self) -> str:
        """Changes whenever the code or the declared graph changes."""
        digest = hashlib.sha256()
        sources = [self.fn] + [n.definition.fn for n in self.tasks.values() if n.definition]
        for fn in sources:
            try:
                digest.update(inspect.getsource(fn).encode())
            except (OSError, TypeError):
                digest.update(fn.__qualname__.encode())
        declared = {
            "options": [
                self.title,
                self.description,
                self.schedule_text(),
                self.tags,
                self.owners,
                self.max_active_runs,
                self.catchup,
                str(self.timeout),
            ],
            "parameters": self.parameters.json_schema(),
            # The file's name, not its folder: each commit of a git source has a folder
            # of its own, and the same code in another checkout is the same version.
            "tasks": [_hashed_spec(spec) for spec in self.task_specs()],
        }
        if self.notify:  # only when set: code without it keeps its version
            declared["notify"] = repr(self.notify)
        digest.update(json.dumps(declared, sort_keys=True, default=str).encode())
        return digest.hexdigest()

    def __call__(self, *args, **kwargs):
        raise DefinitionError(
            f"workflow '{self.slug}' cannot be called directly; start a run with "
            f"`python manage.py trigger {self.slug}` or from the web page",
            workflow=self.slug,
        )

    def __repr__(self):
        return f"<workflow {self.slug}>"


def _hashed_spec(spec: dict) -> dict:
    hashed = {**spec, "source_file": os.path.basename(spec["source_file"])}
    # Left out when unset, so that code written before they existed keeps its version.
    for name in ("requirements", "python", "pool", "priority", "group"):
        if not hashed[name]:
            del hashed[name]
    return hashed


def _line_in(tb, fn) -> int | None:
    """The line of ``fn``'s body where the traceback passed, if it did."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code is fn.__code__:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _arguments_of(node) -> dict:
    if node.kind == "container":
        return container_arguments(node)
    if node.kind == "shell":
        return {"argv": encode(node.argv), "env": encode(node.env), "cwd": node.cwd}
    if node.approval is not None:
        return node.approval.describe()
    arguments = {"args": encode(list(node.args)), "kwargs": encode(node.kwargs)}
    if node.mapped:
        arguments.update(map_over=encode(node.map_over), map_argument=node.map_argument)
    if node.branch:
        arguments["branch"] = True
    if node.wait is not None:
        arguments["wait"] = node.wait.describe()
    return arguments


def _check_schedule(schedule, where: dict):
    if schedule is None:
        return None
    if isinstance(schedule, timedelta):
        if schedule.total_seconds() < 1:
            raise DefinitionError("schedule interval must be at least one second", **where)
        return schedule
    if isinstance(schedule, str):
        from .schedules import parse_cron

        parse_cron(schedule, where)
        return schedule.strip()
    raise DefinitionError(
        f"schedule must be a cron string such as '0 3 * * *', a timedelta or None, "
        f"not {schedule!r}",
        **where,
    )


# A workflow's name is its slug in page addresses (/workflows/<slug>/).
WORKFLOW_NAME = re.compile(r"[A-Za-z0-9_-]{1,200}")


def workflow(
    fn=None,
    *,
    schedule: str | timedelta | None = None,
    tags: list[str] | tuple = (),
    owners: list[str] | tuple = (),
    max_active_runs: int = 16,
    catchup: bool = False,
    timeout: timedelta | None = None,
    title: str | None = None,
    description: str | None = None,
    notify: "Notify | list[Notify] | None" = None,
    requirements: list[str] | str | None = None,
    python: str | None = None,
):
    """Declare a workflow: the function's body calls tasks to build the graph.

    The signature is the run form: type hints give the fields, defaults the
    initial values, ``Annotated[T, "help"]`` the help text. The docstring is
    the description shown to staff; ``title`` and ``description`` replace the
    name-made title and the docstring, and may be lazy translations
    (``title=gettext_lazy("Monthly export")``: found by ``makemessages``, shown in
    the reader's language). ``schedule`` is a cron string
    (``"0 3 * * *"``), a ``timedelta`` or None (manual runs only); ``catchup``
    runs every missed slot after downtime rather than only the latest;
    ``max_active_runs`` bounds concurrent runs (the others wait);
    ``timeout`` fails a run that takes longer; ``notify`` takes ``Notify``
    rules saying who hears about failures, retries, slow runs… (see ``Notify``).
    ``requirements`` and ``python`` are the default of its ``@task`` steps (see
    ``task``); a step's own value replaces them.
    """

    def decorate(func):
        file = inspect.getsourcefile(func) or "<unknown>"
        line = func.__code__.co_firstlineno
        where = {"workflow": func.__name__, "file": file, "line": line}
        if not WORKFLOW_NAME.fullmatch(func.__name__):
            raise DefinitionError(
                "a workflow's function name may hold only the letters a-z and A-Z, digits "
                "and _ (it is the workflow's address)",
                **where,
            )
        if not isinstance(max_active_runs, int) or max_active_runs < 1:
            raise DefinitionError(f"max_active_runs must be ≥ 1, not {max_active_runs!r}", **where)
        if timeout is not None and not isinstance(timeout, timedelta):
            raise DefinitionError("timeout must be a datetime.timedelta or None", **where)
        rules = check_notify(notify, where)
        doc = inspect.getdoc(func) or ""
        return WorkflowDefinition(
            fn=func,
            slug=func.__name__,
            title=title or func.__name__.replace("_", " ").capitalize(),
            description=description or doc,
            schedule=_check_schedule(schedule, where),
            tags=[str(t) for t in tags],
            owners=[str(o) for o in owners],
            max_active_runs=max_active_runs,
            catchup=bool(catchup),
            timeout=timeout,
            file=file,
            line=line,
            requirements=normalized_requirements(
                requirements, base=Path(file).resolve().parent, where=where
            ),
            python=checked_python(python, where=where),
            notify=rules,
        )

    return decorate(fn) if fn is not None else decorate
