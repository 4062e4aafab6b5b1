"""The environments the loaded workflows' isolated tasks need."""

from dataclasses import dataclass, field

from workflows.registry import Registry

from .interpreters import PythonNotFound
from .spec import EnvironmentSpec


@dataclass
class NeededEnvironment:
    spec: EnvironmentSpec
    used_by: list[str] = field(default_factory=list)  # "workflow.task"


@dataclass
class NeededEnvironments:
    by_key: dict[str, NeededEnvironment] = field(default_factory=dict)
    # "workflow.task: why", for tasks whose environment cannot be made on this machine.
    problems: list[str] = field(default_factory=list)

    def workflows_of(self, key: str) -> list[str]:
        needed = self.by_key.get(key)
        return sorted({name.split(".", 1)[0] for name in needed.used_by}) if needed else []


def needed_environments(registry: Registry) -> NeededEnvironments:
    needed = NeededEnvironments()
    for slug, definition in sorted(registry.workflows.items()):
        for node in definition.tasks.values():
            if not node.isolated:
                continue
            try:
                spec = EnvironmentSpec.for_task(node.options.requirements, node.options.python)
            except PythonNotFound as exc:
                needed.problems.append(f"{slug}.{node.name}: {exc}")
                continue
            entry = needed.by_key.setdefault(spec.key, NeededEnvironment(spec))
            entry.used_by.append(f"{slug}.{node.name}")
    return needed
