"""Where workflow files come from: a folder (BATON_WORKFLOWS_DIR) or a git repository.

A source names its current *revision* (the folder's content hash, or the branch's
commit) and gives the folder holding that revision's files. Git goes through the
``git`` command line, so SSH keys, credential helpers and ``https://token@host``
URLs work as for any git user; the URL is shown with its credentials masked.

Each process keeps, under BATON_WORKFLOWS_CACHE, a bare mirror of the repository
and one checkout per commit, at most BATON_WORKFLOWS_KEEP (least recently used
first out). Several processes may share the cache: changes happen under a file
lock, and a checkout is built aside and renamed into place, so it is whole or absent.
"""

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings

GIT_TIMEOUT = 120  # s; a fetch that hangs longer (a dead server) is a failed fetch


class SourceError(Exception):
    """The source cannot be read (unreachable repository, wrong branch, failed fetch…)."""


@dataclass(frozen=True)
class Revision:
    id: str  # the commit sha, or the folder's content hash
    origin: str  # "git" or "folder" (WorkflowVersion.Origin)
    root: Path  # the folder holding this revision's workflow files
    author: str = ""
    message: str = ""
    committed_at: datetime | None = None

    @property
    def short(self) -> str:
        return self.id[:8]


class FolderSource:
    """BATON_WORKFLOWS_DIR: the revision is a hash of its .py files' paths and contents."""

    origin = "folder"

    def __init__(self, folder: str):
        self.folder = Path(folder).resolve()

    def __str__(self):
        return f"BATON_WORKFLOWS_DIR {self.folder}"

    def current(self) -> Revision:
        return Revision(id=folder_hash(self.folder), origin=self.origin, root=self.folder)

    def checkout(self, revision_id: str) -> Path | None:
        """A folder holds only its current content: an older revision is not to be had."""
        return self.folder if folder_hash(self.folder) == revision_id else None


def folder_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    if folder.is_dir():
        for path in sorted(folder.rglob("*.py")):
            try:
                content = path.read_bytes()
            except OSError:
                continue  # removed while we read: the next look sees the change
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()


def masked(url: str) -> str:
    """The URL without its password or token (``https://user:***@host/...``)."""

    def hide(match):
        return f"://{match.group(1)}:***@" if match.group(2) is not None else "://***@"

    return re.sub(r"://([^/@:\s]*)(?::([^/@\s]*))?@", hide, url)


class GitSource:
    """BATON_WORKFLOWS_GIT: a branch of a repository, mirrored and checked out per commit."""

    origin = "git"

    def __init__(self, url: str, *, branch: str, subdir: str = "", cache: str, keep: int):
        self.url, self.branch, self.subdir = url, branch, subdir.strip("/")
        self.keep = max(keep, 1)
        key = hashlib.sha256(url.encode()).hexdigest()[:16]
        self.home = Path(cache) / key
        self.mirror = self.home / "mirror.git"
        self.checkouts = self.home / "checkouts"

    def __str__(self):
        return f"git repository {masked(self.url)} (branch {self.branch})"

    def current(self) -> Revision:
        """Fetch the branch and check its commit out; ``SourceError`` says what failed."""
        with self._locked():
            self._fetch()
            sha = self._branch_sha()
            root = self._checkout(sha)
        return self._revision(sha, root)

    def cached(self) -> Revision | None:
        """The branch's commit as last fetched into the mirror, without fetching; None if none."""
        try:
            with self._locked():
                if not (self.mirror / "HEAD").exists():
                    return None
                sha = self._branch_sha()
                root = self._checkout(sha)
            return self._revision(sha, root)
        except SourceError:
            return None

    def checkout(self, revision_id: str) -> Path | None:
        """The folder of an earlier commit, fetched when the mirror lacks it; None if gone."""
        with self._locked():
            if not self._has_commit(revision_id):
                self._fetch()
                if not self._has_commit(revision_id):
                    return None
            return self._checkout(revision_id)

    def _revision(self, sha: str, root: Path) -> Revision:
        out = self._git("log", "-1", "--format=%an <%ae>%x00%cI%x00%B", sha)
        author, date, message = (out.split("\0", 2) + ["", ""])[:3]
        return Revision(
            id=sha,
            origin=self.origin,
            root=root,
            author=author,
            message=message.strip(),
            committed_at=datetime.fromisoformat(date) if date else None,
        )

    def _fetch(self) -> None:
        if not (self.mirror / "HEAD").exists():
            shutil.rmtree(self.mirror, ignore_errors=True)  # a clone cut short
            self.home.mkdir(parents=True, exist_ok=True)
            self._git("clone", "--mirror", "--quiet", self.url, str(self.mirror), bare=False)
        else:
            self._git("fetch", "--prune", "--quiet", "origin")

    def _branch_sha(self) -> str:
        try:
            return self._git("rev-parse", "--verify", f"refs/heads/{self.branch}^{{commit}}")
        except SourceError:
            raise SourceError(
                f"{self}: the repository has no branch '{self.branch}' "
                f"(set BATON_WORKFLOWS_GIT_BRANCH)"
            ) from None

    def _has_commit(self, sha: str) -> bool:
        if not re.fullmatch(r"[0-9a-f]{7,64}", sha):
            return False
        try:
            self._git("cat-file", "-e", f"{sha}^{{commit}}")
        except SourceError:
            return False
        return True

    def _checkout(self, sha: str) -> Path:
        place = self.checkouts / sha
        if not place.is_dir():
            self.checkouts.mkdir(parents=True, exist_ok=True)
            aside = Path(tempfile.mkdtemp(prefix=f".{sha[:8]}-", dir=self.checkouts))
            self._git("--work-tree", str(aside), "checkout", sha, "--", ".")
            (self.home / f"index-{os.getpid()}").unlink(missing_ok=True)
            aside.rename(place)
            self._prune(keep=place)
        os.utime(place)  # most recently used
        root = place / self.subdir if self.subdir else place
        if not root.is_dir():
            raise SourceError(f"{self}: commit {sha[:8]} has no folder '{self.subdir}'")
        return root

    def _prune(self, *, keep: Path) -> None:
        entries = [p for p in self.checkouts.iterdir() if p.is_dir() and p != keep]
        entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[self.keep - 1 :]:
            shutil.rmtree(old, ignore_errors=True)

    @contextmanager
    def _locked(self):
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _git(self, *args: str, bare: bool = True) -> str:
        command = ["git", *(["--git-dir", str(self.mirror)] if bare else []), *args]
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
        # The checkout's index stays out of the shared mirror.
        env["GIT_INDEX_FILE"] = str(self.home / f"index-{os.getpid()}")
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=GIT_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            raise SourceError(f"{self}: git {args[0]} took over {GIT_TIMEOUT} s") from None
        except OSError as exc:
            raise SourceError(f"{self}: cannot run git: {exc}") from None
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            said = [line for line in lines if line.startswith(("fatal:", "error:"))]
            detail = masked((said or lines or ["no message"])[0])
            raise SourceError(f"{self}: git {args[0]} failed: {detail}")
        return done.stdout.strip()


def configured_source() -> GitSource | FolderSource | None:
    """The source the settings name (git wins over a folder), None for apps only."""
    if settings.BATON_WORKFLOWS_GIT:
        return GitSource(
            settings.BATON_WORKFLOWS_GIT,
            branch=settings.BATON_WORKFLOWS_GIT_BRANCH,
            subdir=settings.BATON_WORKFLOWS_GIT_SUBDIR,
            cache=settings.BATON_WORKFLOWS_CACHE,
            keep=settings.BATON_WORKFLOWS_KEEP,
        )
    if settings.BATON_WORKFLOWS_DIR:
        return FolderSource(settings.BATON_WORKFLOWS_DIR)
    return None
