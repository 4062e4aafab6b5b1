"""A real git repository made by a test, to be the BATON_WORKFLOWS_GIT of its processes."""

import subprocess
import textwrap
from pathlib import Path


class GitRepo:
    def __init__(self, path: Path, branch: str = "main"):
        self.path = path
        path.mkdir(parents=True)
        self._git("init", "--quiet", "--initial-branch", branch)

    def commit(self, files: dict[str, str], message: str, author="Ann Author <ann@example.com>"):
        """Write (or, for None, delete) ``files`` and commit them; returns the sha."""
        for name, text in files.items():
            target = self.path / name
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(text))
        self._git("add", "--all")
        name, email = author.rsplit(" <", 1)
        self._git(
            "-c", f"user.name={name}", "-c", f"user.email={email.rstrip('>')}",
            "commit", "--quiet", "-m", message,
        )  # fmt: skip
        return self._git("rev-parse", "HEAD")

    def _git(self, *args) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.path, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()
