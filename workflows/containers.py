"""``container(...)``: a step that runs an image, through Docker, with any language inside.

Everything that can be checked is checked here, when the workflow file loads: a bad
``memory=`` or a command given as one string is a DefinitionError on the load errors
page, not a failure at 3 a.m.
"""

import re
from dataclasses import dataclass

from django.conf import settings

from .errors import DefinitionError
from .graph import current_builder
from .references import encode
from .tasks import TaskNode, TaskOptions, _caller_location, check_step_name

PULL_POLICIES = ("missing", "always", "never")
# Docker refuses a memory limit under 6 MiB.
MIN_MEMORY = 6 * 1024 * 1024
MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}
MEMORY = re.compile(r"(\d+)\s*([kmg]?)i?b?", re.IGNORECASE)
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# An image reference: [registry/]name[:tag][@digest]; no spaces, nothing Docker would reject.
IMAGE = re.compile(r"[a-z0-9][a-z0-9._/:@-]*", re.IGNORECASE)


@dataclass(frozen=True)
class Mount:
    """A host folder (``/srv/data``) or a named volume (``cache``) seen at ``target``."""

    source: str
    target: str
    read_only: bool = False

    @property
    def is_bind(self) -> bool:
        return self.source.startswith("/")

    def __str__(self):
        return f"{self.source}:{self.target}:{'ro' if self.read_only else 'rw'}"


@dataclass(frozen=True)
class ContainerSpec:
    """What a container step runs besides its command and environment (kept on the TaskNode)."""

    image: str
    workdir: str | None = None
    user: str | None = None
    mounts: tuple[Mount, ...] = ()
    cpu: float | None = None
    memory: int | None = None  # bytes
    network: str = "none"
    pull: str = "missing"

    def described(self) -> dict:
        """The spec as plain data, for TaskSpec rows and the code hash."""
        return {
            "image": self.image,
            "workdir": self.workdir,
            "user": self.user,
            "mounts": [str(mount) for mount in self.mounts],
            "cpu": self.cpu,
            "memory": self.memory,
            "network": self.network,
            "pull": self.pull,
        }


def memory_text(size: int) -> str:
    """512 MiB, 1 GiB, 1.5 GiB: a memory limit as people say it."""
    for unit, name in ((1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB")):
        if size >= unit:
            return f"{size / unit:.4g} {name}"
    return f"{size} bytes"


def parse_memory(value, where: dict) -> int | None:
    """Bytes from ``"512m"``, ``"1g"``, ``"256MiB"`` or a whole number of bytes."""
    if value is None:
        return None
    size = None
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and (match := MEMORY.fullmatch(value.strip())):
        size = int(match[1]) * MEMORY_UNITS[match[2].lower()]
    if size is None:
        raise DefinitionError(
            f"memory={value!r} is not a size: write it like '512m', '1g' or a whole number "
            f"of bytes",
            **where,
        )
    if size < MIN_MEMORY:
        raise DefinitionError(
            f"memory={value!r} is below Docker's smallest limit (6 MiB); give at least '6m'",
            **where,
        )
    return size


def _parse_mount(text, where: dict) -> Mount:
    parts = text.split(":") if isinstance(text, str) else []
    mode = parts.pop() if len(parts) == 3 else "rw"
    if len(parts) != 2 or mode not in ("ro", "rw") or not all(parts):
        raise DefinitionError(
            f"mount {text!r} is not 'source:target' or 'source:target:ro', e.g. "
            f"'/srv/exports:/data:ro' (a host folder) or 'cache:/cache' (a named volume)",
            **where,
        )
    source, target = parts
    if not target.startswith("/"):
        raise DefinitionError(
            f"mount {text!r}: the folder inside the container must be an absolute path",
            **where,
        )
    return Mount(source=source, target=target, read_only=mode == "ro")


def _check_command(name: str, command, where: dict) -> list:
    if command is None:
        return []  # the image's own command
    if isinstance(command, str) or not isinstance(command, (list, tuple)) or not command:
        raise DefinitionError(
            f"container step '{name}': command must be a non-empty list of arguments such as "
            f"['python', 'export.py', '--site', site_id], not {command!r} (Baton never runs a "
            f"shell; leave command out to run the image's own)",
            **where,
        )
    return list(command)


def _check_env(name: str, env, where: dict) -> dict:
    if env is None:
        return {}
    if not isinstance(env, dict) or not all(
        isinstance(key, str) and ENV_NAME.fullmatch(key) for key in env
    ):
        raise DefinitionError(
            f"container step '{name}': env must be a dict of variable names (letters, digits "
            f"and _) to values, not {env!r}",
            **where,
        )
    return dict(env)


def _check_spec(name: str, where: dict, **values) -> ContainerSpec:
    image, cpu, pull, network = values["image"], values["cpu"], values["pull"], values["network"]
    problems = []
    if not isinstance(image, str) or not IMAGE.fullmatch(image):
        problems.append(f"image must name an image such as 'python:3.12-slim', not {image!r}")
    if cpu is not None and (
        isinstance(cpu, bool) or not isinstance(cpu, (int, float)) or not cpu > 0
    ):
        problems.append(f"cpu must be a number of CPUs above 0 such as 0.5 or 2, not {cpu!r}")
    if pull not in PULL_POLICIES:
        problems.append(f"pull must be one of {', '.join(PULL_POLICIES)}, not {pull!r}")
    if not isinstance(network, str) or not network:
        problems.append(f"network must be a network name ('none', 'bridge'…), not {network!r}")
    workdir, user = values["workdir"], values["user"]
    if workdir is not None and not (isinstance(workdir, str) and workdir.startswith("/")):
        problems.append(f"workdir must be an absolute path inside the image, not {workdir!r}")
    if user is not None and (isinstance(user, bool) or not isinstance(user, (str, int))):
        problems.append(f"user must be a name, a uid or 'uid:gid', not {user!r}")
    mounts = values["mounts"]
    if mounts is not None and (isinstance(mounts, str) or not isinstance(mounts, (list, tuple))):
        problems.append(f"mounts must be a list such as ['/srv/data:/data:ro'], not {mounts!r}")
    if problems:
        raise DefinitionError(f"container step '{name}': " + "; ".join(problems), **where)
    return ContainerSpec(
        image=image,
        workdir=workdir,
        user=None if user is None else str(user),
        mounts=tuple(_parse_mount(mount, where) for mount in mounts or ()),
        cpu=None if cpu is None else float(cpu),
        memory=parse_memory(values["memory"], where),
        network=network,
        pull=pull,
    )


def container(
    name: str,
    image: str,
    command: list | None = None,
    *,
    env: dict | None = None,
    workdir: str | None = None,
    user: str | int | None = None,
    mounts: list[str] | None = None,
    cpu: float | None = None,
    memory: str | int | None = None,
    network: str = "none",
    pull: str = "missing",
    **options,
) -> TaskNode:
    """Run an image as a task: one container per attempt, through Docker.

    ``command`` is a list (no shell, no interpolation, like ``shell``): its items
    may be strings, numbers, workflow parameters or upstream results; leave it out
    to run the image's own command. The run's parameters reach the container as
    ``BATON_PARAM_<NAME>``; ``env`` adds variables (values may be ``Secret``: passed
    to the container, masked in the log, never stored). The last line of output is
    the result, or the JSON the step writes to ``/baton/result.json``.

    ``mounts``: ``'/host/folder:/in/container[:ro]'`` or ``'volume:/in/container'``;
    ``cpu``: CPUs (``0.5``); ``memory``: ``'512m'``, ``'1g'`` or bytes; ``network``:
    ``'none'`` (no network, the default), ``'bridge'`` or a network's name; ``pull``:
    ``'missing'`` (pull when not on the machine), ``'always'`` or ``'never'``.
    Options are those of ``@task``; ``queue`` defaults to ``BATON_CONTAINER_QUEUE``
    (``containers``), served by ``runworker --queues containers`` on machines with Docker.
    """
    file, line = _caller_location()
    builder = current_builder()
    if builder is None:
        raise DefinitionError(
            f"container step '{name}' was declared outside a workflow", file=file, line=line
        )
    where = {"workflow": builder.workflow, "file": file, "line": line}
    check_step_name(name, what="container step", **where)
    argv = _check_command(name, command, where)
    spec = _check_spec(
        name,
        where,
        image=image,
        workdir=workdir,
        user=user,
        mounts=mounts,
        cpu=cpu,
        memory=memory,
        network=network,
        pull=pull,
    )
    for option in ("requirements", "python"):
        if option in options:
            raise DefinitionError(
                f"container step '{name}': {option}= is for @task steps; a container brings "
                f"its own packages and interpreter in its image",
                **where,
            )
    options.setdefault("queue", settings.BATON_CONTAINER_QUEUE)
    try:
        opts = TaskOptions(**options).checked(f"container step '{name}'")
    except TypeError as exc:
        raise DefinitionError(f"container step '{name}': unknown option: {exc}", **where) from None
    node = TaskNode(
        name=builder.unique_name(name, None),
        kind="container",
        options=opts,
        file=file,
        line=line,
        argv=argv,
        env=_check_env(name, env, where),
        container=spec,
    )
    return builder.add(node)


def container_arguments(node: TaskNode) -> dict:
    """What a container step's TaskSpec row shows of it (and what its code hash covers)."""
    return {"command": encode(node.argv), "env": encode(node.env), **node.container.described()}
