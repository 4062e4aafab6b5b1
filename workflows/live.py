"""Workflows reloaded without a restart, and the code of older versions kept at hand.

Every process that needs workflow code holds one ``LiveCode`` for the settings'
source (BATON_WORKFLOWS_GIT or BATON_WORKFLOWS_DIR). It loads each revision into a
registry of its own (modules named ``baton_workflows.r<revision>.…``, so two
revisions live side by side) and swaps the current one by a single assignment: a
task already running keeps the definition it holds. Workers, the scheduler and
``up`` run a poller thread; any other process (web) looks again on the first
``get_registry()`` after the interval.

A revision whose file fails to import keeps the last good definitions of that
file's workflows; a source that cannot be read keeps the whole last good registry.
Either is logged once per change, not at every look.
"""

import logging
import shutil
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from django.conf import settings

from .definition import WorkflowDefinition
from .registry import LoadError, ModuleNames, Registry, discover, load_file, provenance_of
from .sources import Revision, SourceError, configured_source

logger = logging.getLogger(__name__)


class KeptRegistries:
    """Registries of recent revisions (and of stored sources), least recently used out."""

    def __init__(self, keep: int):
        self.keep = max(keep, 1)
        self.lock = threading.RLock()
        self.entries: OrderedDict[str, Registry] = OrderedDict()

    def get(self, key: str) -> Registry | None:
        with self.lock:
            registry = self.entries.get(key)
            if registry is not None:
                self.entries.move_to_end(key)
            return registry

    def put(self, key: str, registry: Registry, *, current: Registry | None = None) -> None:
        with self.lock:
            self.entries[key] = registry
            self.entries.move_to_end(key)
            while len(self.entries) > self.keep:
                old_key, old = self.entries.popitem(last=False)
                if old is not current:
                    _unload(old_key)

    def find(self, slug: str, code_hash: str) -> WorkflowDefinition | None:
        with self.lock:
            for key in reversed(self.entries):
                definition = self.entries[key].get(slug)
                if definition is not None and definition.code_hash == code_hash:
                    self.entries.move_to_end(key)
                    return definition
        return None


def _unload(key: str) -> None:
    """Forget an evicted revision's modules, so its code can be freed."""
    prefix = f"{ModuleNames.ROOT}.{_module_tag(key)}"
    for name in [n for n in sys.modules if n == prefix or n.startswith(prefix + ".")]:
        del sys.modules[name]


def _module_tag(key: str) -> str:
    kind, _, ident = key.rpartition(":")
    return f"v{ident[:8]}" if kind == "stored" else f"r{ident[:8]}"


class LiveCode:
    """The current registry of one source, reloaded when its revision changes."""

    def __init__(self, source, *, interval: float, keep: int):
        self.source = source
        self.interval = max(interval, 0.1)
        self.kept = KeptRegistries(keep)
        self._current: Registry | None = None
        self._refreshing = threading.Lock()
        self._checked_at = 0.0
        self._reported: str | None = None  # the source error last logged
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        self.listeners: list = []  # called with each new current registry (a worker's queues)

    def registry(self) -> Registry:
        """The current registry; loaded on first use. Without a poller (web), the first
        call after the interval starts a look in the background and returns at once."""
        if self._current is None:
            with self._refreshing:
                if self._current is None:
                    self._refresh()
        elif self._due() and self._refreshing.acquire(blocking=False):
            threading.Thread(target=self._refresh_then_release, daemon=True).start()
        return self._current

    def _refresh_then_release(self) -> None:
        try:
            self._refresh()
        except Exception:
            logger.exception("Workflows: the reload failed; trying again")
        finally:
            self._refreshing.release()

    def _due(self) -> bool:
        return self._poller is None and time.monotonic() - self._checked_at >= self.interval

    def refresh(self) -> bool:
        """Look at the source now; True when the current registry changed."""
        with self._refreshing:
            return self._refresh()

    def _refresh(self) -> bool:
        self._checked_at = time.monotonic()
        previous = self._current
        try:
            revision = self.source.current()
        except SourceError as exc:
            if previous is None:  # a process starting while the repository is unreachable
                self._load_cached()
            return self._source_failed(str(exc))
        if self._reported is not None:
            logger.info("Workflows: %s can be read again", self.source)
            self._reported = None
        if previous is not None and previous.revision and previous.revision.id == revision.id:
            if not previous.source_error:
                return False
            where = str(self.source)
            errors = [e for e in previous.errors if e.file != where]
            self._current = self.kept.get(revision.id) or replace(
                previous, source_error="", errors=errors
            )
            return True
        started = time.monotonic()
        registry = self.kept.get(revision.id)
        if registry is None:
            registry = discover(revision=revision)
            _name_errors_by_commit(registry, revision)
            _carry_over_broken(previous, registry)
            self.kept.put(revision.id, registry, current=registry)
        self._current = registry
        self._tell(registry)
        logger.info(
            "Workflows: loaded revision %s of %s (%d workflows, %d load errors) in %.2f s",
            revision.short,
            self.source,
            len(registry.workflows),
            len(registry.errors),
            time.monotonic() - started,
        )
        return True

    def _tell(self, registry: Registry) -> None:
        for listener in self.listeners:
            try:
                listener(registry)
            except Exception:
                logger.exception("Workflows: %r failed on the new code", listener)

    def _load_cached(self) -> None:
        """The commit last fetched into the cache, if any, rather than no code at all."""
        cached = getattr(self.source, "cached", None)
        revision = cached() if cached else None
        if revision is not None:
            self._current = discover(revision=revision)
            _name_errors_by_commit(self._current, revision)
            self.kept.put(revision.id, self._current, current=self._current)

    def _source_failed(self, message: str) -> bool:
        if message != self._reported:
            logger.error("Workflows: %s; the last good code keeps running", message)
            self._reported = message
        previous = self._current
        if previous is not None and previous.source_error == message:
            return False
        base = previous if previous is not None else discover(workflows_dir="")
        where = str(self.source)
        errors = [e for e in base.errors if e.file != where] + [LoadError(where, message)]
        self._current = replace(base, source_error=message, errors=errors)
        return True

    def find(self, slug: str, code_hash: str) -> WorkflowDefinition | None:
        return self.kept.find(slug, code_hash)

    def load_revision(self, revision_id: str, origin: str) -> Registry | None:
        """The registry of an earlier revision, checked out again if need be."""
        registry = self.kept.get(revision_id)
        if registry is not None or origin != self.source.origin:
            return registry
        try:
            root = self.source.checkout(revision_id)
        except SourceError as exc:
            logger.warning("Workflows: cannot check out revision %s: %s", revision_id[:8], exc)
            return None
        if root is None:
            return None
        registry = discover(revision=Revision(id=revision_id, origin=origin, root=root))
        self.kept.put(revision_id, registry, current=self._current)
        return registry

    def start(self) -> None:
        """Load now, then look at the source every interval in a daemon thread."""
        if self._poller is not None:
            return
        self.registry()
        self._poller = threading.Thread(target=self._poll, name="baton-live-code", daemon=True)
        self._poller.start()

    def stop(self) -> None:
        self._stop.set()

    def _poll(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.refresh()
            except Exception:  # a bug here must not stop the reloads of the process
                logger.exception("Workflows: the reload failed; trying again")


def _name_errors_by_commit(registry: Registry, revision: Revision) -> None:
    """A checkout's path means nothing to the author: name the file in the repository."""
    if revision.origin != "git":
        return
    place = f"{revision.root}/"
    for error in registry.errors:
        if error.file.startswith(place):
            error.file = error.file.removeprefix(place)
            error.message = f"commit {revision.id[:7]}: {error.message.replace(place, '')}"
            error.traceback = error.traceback.replace(place, "")


def _carry_over_broken(previous: Registry | None, registry: Registry) -> None:
    """Keep the last good definitions of the workflows whose file now fails to import."""
    if previous is None:
        return
    broken = {registry.relative_file(file) for file in registry.failed_files} - {None}
    for slug, definition in previous.workflows.items():
        if slug in registry.workflows:
            continue
        provenance = provenance_of(definition)
        if provenance.origin != "app" and provenance.source_path in broken:
            registry.workflows[slug] = definition


_live: LiveCode | None = None
_live_key: tuple | None = None
_live_lock = threading.Lock()


def _settings_key() -> tuple:
    return (
        settings.BATON_WORKFLOWS_GIT,
        settings.BATON_WORKFLOWS_GIT_BRANCH,
        settings.BATON_WORKFLOWS_GIT_SUBDIR,
        settings.BATON_WORKFLOWS_CACHE,
        settings.BATON_WORKFLOWS_DIR,
    )


def live_code() -> LiveCode | None:
    """This process's LiveCode for the settings' source; None when only apps hold workflows."""
    global _live, _live_key
    key = _settings_key()
    if key == _live_key:
        return _live
    with _live_lock:
        if key != _live_key:
            if _live is not None:
                _live.stop()
            source = configured_source()
            _live = source and LiveCode(
                source,
                interval=settings.BATON_WORKFLOWS_GIT_INTERVAL,
                keep=settings.BATON_WORKFLOWS_KEEP,
            )
            _live_key = key
    return _live


def start_polling(*, on_change=None) -> None:
    """Reload the workflows in the background (workers, scheduler, ``up``); ``on_change``
    is called with each new registry."""
    from . import registry

    live = live_code()
    if live is not None and not registry.overridden():
        if on_change is not None:
            live.listeners.append(on_change)
        live.start()


def fresh_registry() -> Registry:
    """The registry after a look at the source right now (``sync_workflows``, ``migrate``)."""
    from . import registry

    live = live_code()
    if live is not None and not registry.overridden():
        live.refresh()
    return registry.get_registry()


_stored = KeptRegistries(20)


def definition_for_version(
    slug: str, version_id: int | None, code_hash: str, *, current: WorkflowDefinition | None
) -> WorkflowDefinition | None:
    """The definition of a run's pinned version: the current one when it is that version,
    else a kept registry's, else that commit checked out again, else its stored source.

    An app's ``workflows.py`` ships with the deployment: its runs take the deployed code.
    """
    if version_id is None or (current is not None and current.code_hash == code_hash):
        return current
    live = live_code()
    found = live.find(slug, code_hash) if live else None
    if found is not None:
        return found
    from .models import WorkflowVersion

    version = WorkflowVersion.objects.filter(pk=version_id).first()
    if version is None or version.origin == WorkflowVersion.Origin.APP:
        return current
    if live is not None and version.revision:
        registry = live.load_revision(version.revision, version.origin)
        found = registry.get(slug) if registry else None
        if found is not None and found.code_hash == code_hash:
            return found
    return _from_stored_source(version)


def _from_stored_source(version) -> WorkflowDefinition | None:
    key = f"stored:{version.code_hash}"
    registry = _stored.get(key)
    if registry is None:
        folder = _write_stored(version)
        registry = Registry(folder=folder)
        names = ModuleNames(folder, root=f"{ModuleNames.ROOT}.{_module_tag(key)}")
        path = folder / version.source_path
        load_file(registry, path, module_name=names.claim(path))
        _stored.put(key, registry)
    return registry.get(version.workflow.slug)


def _write_stored(version) -> Path:
    base = Path(settings.BATON_WORKFLOWS_CACHE) / "stored"
    folder = base / version.code_hash[:16]
    if not (folder / version.source_path).is_file():
        base.mkdir(parents=True, exist_ok=True)
        aside = Path(tempfile.mkdtemp(prefix=".stored-", dir=base))
        target = aside / version.source_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(version.source)
        try:
            aside.rename(folder)
        except OSError:  # another process wrote it first
            shutil.rmtree(aside, ignore_errors=True)
    return folder
