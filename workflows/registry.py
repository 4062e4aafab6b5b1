"""Finding workflows in code: every app's ``workflows.py`` and BATON_WORKFLOWS_DIR.

Like Airflow's DAG bag: a module that fails to import is recorded as a
``LoadError`` and the other modules still load. Each import runs under
``bounded_import``: whatever it raises (``SystemExit`` too) and an import past
BATON_WORKFLOW_IMPORT_TIMEOUT are that file's error, never the loader's.
"""

import importlib
import importlib.machinery
import importlib.util
import keyword
import logging
import re
import sys
import traceback
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings

from .bounded_import import run_bounded
from .definition import WorkflowDefinition
from .errors import DefinitionError
from .sources import Revision

logger = logging.getLogger(__name__)


@dataclass
class LoadError:
    file: str
    message: str
    traceback: str = ""


@dataclass(frozen=True)
class Provenance:
    """Where a definition came from: what its WorkflowVersion records."""

    origin: str  # "git", "folder" or "app"
    source: str  # the text of its file, read as it was loaded
    source_path: str  # the file, relative to its source's folder (or to the project)
    revision: Revision | None = None


# Set as each definition is loaded; keyed by the object, so registries can share definitions.
_PROVENANCE: "weakref.WeakKeyDictionary[WorkflowDefinition, Provenance]" = (
    weakref.WeakKeyDictionary()
)


def provenance_of(definition: WorkflowDefinition) -> Provenance:
    found = _PROVENANCE.get(definition)
    if found is None:  # declared outside a loader (a test's own definition)
        return Provenance(origin="app", source="", source_path=definition.file)
    return found


@dataclass
class Registry:
    workflows: dict[str, WorkflowDefinition] = field(default_factory=dict)
    errors: list[LoadError] = field(default_factory=list)
    # Files (or modules) that were looked at, so sync can tell "removed" from "broken".
    failed_files: set[str] = field(default_factory=set)
    # The BATON_WORKFLOWS_DIR read (None: not set) and how many workflow files it held,
    # so sync can tell "removed from the folder" from "the folder is gone".
    folder: Path | None = None
    folder_files: int = 0
    # The folder's (or commit's) revision, when loaded from a live source (workflows.live).
    revision: Revision | None = None
    # Why the source could not be read this time (the definitions are the last good ones).
    source_error: str = ""

    def get(self, slug: str) -> WorkflowDefinition | None:
        return self.workflows.get(slug)

    def add_module(self, module, file: str) -> None:
        found = [v for v in list(vars(module).values()) if isinstance(v, WorkflowDefinition)]
        if found:
            provenance = self._provenance(file)
            for definition in found:
                # Hashed now, from the file as imported: a folder's file may change later,
                # and an old commit's checkout may be pruned from the cache.
                definition.code_hash  # noqa: B018
                _PROVENANCE.setdefault(definition, provenance)
                self.add(definition)

    def _provenance(self, file: str) -> Provenance:
        path = Path(file)
        try:
            source = path.read_text(errors="replace")
        except OSError:
            source = ""
        if self.folder is not None and path.is_relative_to(self.folder):
            origin = self.revision.origin if self.revision else "folder"
            relative = str(path.relative_to(self.folder))
            return Provenance(origin, source, relative, self.revision)
        base = Path(settings.BASE_DIR)
        relative = str(path.relative_to(base)) if path.is_relative_to(base) else file
        return Provenance("app", source, relative)

    def relative_file(self, file: str) -> str | None:
        """``file`` relative to the source's folder, None when outside it (an app's file)."""
        path = Path(file)
        if self.folder is None or not path.is_relative_to(self.folder):
            return None
        return str(path.relative_to(self.folder))

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

    def load(self, file: str, load, *, module_name: str) -> None:
        """Run ``load()`` (an import) within the time limit; add its workflows or its error."""
        timeout = settings.BATON_WORKFLOW_IMPORT_TIMEOUT
        attempt = run_bounded(load, file=file, timeout=timeout)
        if attempt.timed_out:
            sys.modules.pop(module_name, None)
            self.record_timeout(file, attempt.stuck_at, timeout)
        elif attempt.error is not None:
            sys.modules.pop(module_name, None)
            self.record_failure(file, attempt.error)
        else:
            self.add_module(attempt.value, file)

    def record_timeout(self, file: str, line: int | None, timeout: float) -> None:
        where = f"{file}:{line}" if line else file
        message = (
            f"{where}: took longer than {timeout:g} s to import and was stopped; its "
            f"workflows are not loaded (the limit is BATON_WORKFLOW_IMPORT_TIMEOUT)"
        )
        self.failed_files.add(file)
        self.errors.append(LoadError(file, message))
        logger.error("Could not load workflows: %s", message)

    def record_failure(self, file: str, exc: BaseException) -> None:
        self.failed_files.add(file)
        if isinstance(exc, DefinitionError):
            message = str(exc) if exc.file else f"{file}: {exc}"
        elif isinstance(exc, SyntaxError):
            message = f"{exc.filename or file}:{exc.lineno}: syntax error: {exc.msg}"
        elif isinstance(exc, SystemExit):
            line = _last_line_in(exc, file)
            where = f"{file}:{line}" if line else file
            message = f"{where}: the file called sys.exit({exc.code!r}) while being imported"
        else:
            line = _last_line_in(exc, file)
            where = f"{file}:{line}" if line else file
            detail = f": {exc}" if str(exc) else ""
            message = f"{where}: {type(exc).__name__}{detail}"
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


def discover(workflows_dir: str | None = None, *, revision: Revision | None = None) -> Registry:
    """Import every app's ``workflows`` module and every .py file in the folder.

    With a ``revision`` (workflows.live), the folder is the revision's and its modules
    are named ``baton_workflows.r<revision>.…``, so two revisions load side by side.
    """
    registry = Registry(revision=revision)
    for app in apps.get_app_configs():
        _load_app_module(registry, app)
    if revision is not None:
        load_folder(registry, revision.root, root=f"{ModuleNames.ROOT}.r{revision.short}")
        return registry
    folder = settings.BATON_WORKFLOWS_DIR if workflows_dir is None else workflows_dir
    if folder:
        load_folder(registry, Path(folder).resolve())
    return registry


def _load_app_module(registry: Registry, app) -> None:
    name = f"{app.name}.workflows"
    path = Path(app.path) / "workflows.py"
    if not path.exists() or app.name == "workflows":
        return
    registry.load(str(path), lambda: importlib.import_module(name), module_name=name)


def load_folder(registry: Registry, folder: Path, *, root: str | None = None) -> None:
    registry.folder = folder
    if not folder.is_dir():
        registry.errors.append(
            LoadError(str(folder), f"BATON_WORKFLOWS_DIR {folder} is not a folder")
        )
        return
    names = ModuleNames(folder, root=root or ModuleNames.ROOT)
    for path in sorted(folder.rglob("*.py")):
        if any(part.startswith((".", "_")) for part in path.relative_to(folder).parts):
            continue
        registry.folder_files += 1
        load_file(registry, path, module_name=names.claim(path))


def load_file(registry: Registry, path: Path, *, module_name: str) -> None:
    def execute():
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module

    registry.load(str(path), execute, module_name=module_name)


class ModuleNames:
    """Readable, unique module names for a folder's files: ``sub/nightly_export.py`` is
    ``baton_workflows.sub.nightly_export`` (what ``logging.getLogger(__name__)`` shows).

    Sub-folders become packages (so a file may ``from . import _helpers``); a name taken
    by another file or folder (``a-b.py`` beside ``a_b.py``) gets a ``_2`` suffix.
    """

    ROOT = "baton_workflows"

    def __init__(self, folder: Path, *, root: str = ROOT):
        self.folder, self.root = folder, root
        self.owners: dict[str, Path] = {}
        self._package(root, folder)

    def claim(self, path: Path) -> str:
        parts = path.relative_to(self.folder).with_suffix("").parts
        name, place = self.root, self.folder
        for part in parts[:-1]:
            place = place / part
            name = self._unique(f"{name}.{_identifier(part)}", place)
            self._package(name, place)
        return self._unique(f"{name}.{_identifier(parts[-1])}", path)

    def _unique(self, name: str, owner: Path) -> str:
        candidate, n = name, 2
        while self.owners.setdefault(candidate, owner) != owner:
            candidate, n = f"{name}_{n}", n + 1
        return candidate

    @staticmethod
    def _package(name: str, folder: Path) -> None:
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [str(folder)]
        sys.modules[name] = importlib.util.module_from_spec(spec)


def _identifier(part: str) -> str:
    name = re.sub(r"\W", "_", part)
    if not name or name[0].isdigit():
        name = f"_{name}"
    return f"{name}_" if keyword.iskeyword(name) else name


_loaded: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry: a test's (``reset_registry``), the live source's current
    one (BATON_WORKFLOWS_GIT or BATON_WORKFLOWS_DIR, reloaded on change: workflows.live),
    or the apps' workflows, discovered on first use.
    """
    global _loaded
    if _loaded is not None:
        return _loaded
    from .live import live_code

    live = live_code()
    if live is not None:
        return live.registry()
    _loaded = discover()
    return _loaded


def overridden() -> bool:
    """Whether a test installed its own registry (``reset_registry``)."""
    return _loaded is not None


def reset_registry(registry: Registry | None = None) -> None:
    """Replace the process-wide registry (tests); None goes back to the settings' source."""
    global _loaded
    _loaded = registry
