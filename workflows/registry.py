"""Finding workflows in code: every app's ``workflows.py`` and BATON_WORKFLOWS_DIR.

Like Airflow's DAG bag: a module that fails to import is recorded as a
``LoadError`` and the other modules still load.
"""

import importlib
import importlib.util
import logging
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings

from .definition import WorkflowDefinition
from .errors import DefinitionError

logger = logging.getLogger(__name__)


@dataclass
class LoadError:
    file: str
    message: str
    traceback: str = ""


@dataclass
class Registry:
    workflows: dict[str, WorkflowDefinition] = field(default_factory=dict)
    errors: list[LoadError] = field(default_factory=list)
    # Files (or modules) that were looked at, so sync can tell "removed" from "broken".
    failed_files: set[str] = field(default_factory=set)

    def get(self, slug: str) -> WorkflowDefinition | None:
        return self.workflows.get(slug)

    def add_module(self, module, file: str) -> None:
        for value in list(vars(module).values()):
            if isinstance(value, WorkflowDefinition):
                self.add(value)

    def add(self, definition: WorkflowDefinition) -> None:
        other = self.workflows.get(definition.slug)
        if other is definition:
            return
        if other is not None:
            error = DefinitionError(
                f"a workflow named '{definition.slug}' is already declared at "
                f"{other.file}:{other.line}; workflow names must be unique",
                workflow=definition.slug,
                file=definition.file,
                line=definition.line,
            )
            self.errors.append(LoadError(definition.file, str(error)))
            return
        self.workflows[definition.slug] = definition

    def record_failure(self, file: str, exc: BaseException) -> None:
        self.failed_files.add(file)
        if isinstance(exc, DefinitionError):
            message = str(exc) if exc.file else f"{file}: {exc}"
        elif isinstance(exc, SyntaxError):
            message = f"{exc.filename or file}:{exc.lineno}: syntax error: {exc.msg}"
        else:
            line = _last_line_in(exc, file)
            where = f"{file}:{line}" if line else file
            message = f"{where}: {type(exc).__name__}: {exc}"
        tb = "".join(traceback.format_exception(exc))
        self.errors.append(LoadError(file, message, tb))
        logger.error("Could not load workflows: %s", message)


def _last_line_in(exc: BaseException, file: str) -> int | None:
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == file:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def discover(workflows_dir: str | None = None) -> Registry:
    """Import every app's ``workflows`` module and every .py file in the folder."""
    registry = Registry()
    for app in apps.get_app_configs():
        _load_app_module(registry, app)
    folder = settings.BATON_WORKFLOWS_DIR if workflows_dir is None else workflows_dir
    if folder:
        load_folder(registry, Path(folder))
    return registry


def _load_app_module(registry: Registry, app) -> None:
    name = f"{app.name}.workflows"
    path = Path(app.path) / "workflows.py"
    if not path.exists() or app.name == "workflows":
        return
    try:
        module = importlib.import_module(name)
    except Exception as exc:  # any error in user code is reported, not fatal
        registry.record_failure(str(path), exc)
        return
    registry.add_module(module, str(path))


def load_folder(registry: Registry, folder: Path) -> None:
    if not folder.is_dir():
        registry.errors.append(
            LoadError(str(folder), f"BATON_WORKFLOWS_DIR {folder} is not a folder")
        )
        return
    for path in sorted(folder.rglob("*.py")):
        if any(part.startswith((".", "_")) for part in path.relative_to(folder).parts):
            continue
        load_file(registry, path)


def load_file(registry: Registry, path: Path) -> None:
    module_name = "baton_workflows." + "_".join(path.with_suffix("").parts[-3:]).replace("-", "_")
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # any error in user code is reported, not fatal
        sys.modules.pop(module_name, None)
        registry.record_failure(str(path), exc)
        return
    registry.add_module(module, str(path))


_loaded: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, discovered on first use."""
    global _loaded
    if _loaded is None:
        _loaded = discover()
    return _loaded


def reset_registry(registry: Registry | None = None) -> None:
    """Replace the process-wide registry (tests, and reloads after a deploy)."""
    global _loaded
    _loaded = registry
