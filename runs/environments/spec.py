"""Which environment a task needs, and the key that names it."""

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

from .interpreters import Interpreter, find_interpreter

KEY_LENGTH = 16  # hex digits: a folder name short enough to read, 64 bits against collisions
SHORT_KEY = 8  # what the task log shows
SHOWN = 5  # requirements named in a log line


@dataclass(frozen=True)
class EnvironmentSpec:
    requirements: tuple[str, ...]
    interpreter: Interpreter

    @classmethod
    def for_task(cls, requirements, python: str | None) -> "EnvironmentSpec":
        """The spec of a task's options; PythonNotFound if its python= is missing here."""
        return cls(tuple(requirements or ()), find_interpreter(python))

    @cached_property
    def key(self) -> str:
        """Same requirements, Python version and platform: same key, on any machine."""
        identity = {
            "requirements": list(self.requirements),
            "python": [self.interpreter.implementation, self.interpreter.version],
            "platform": self.interpreter.platform,
        }
        digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode())
        return digest.hexdigest()[:KEY_LENGTH]

    @property
    def short_key(self) -> str:
        return self.key[:SHORT_KEY]

    def describe(self) -> str:
        """Like "Python 3.12.3: pandas==2.2.3, openpyxl>=3.1", naming a long list's first few."""
        shown = ", ".join(self.requirements[:SHOWN]) or "no packages"
        if len(self.requirements) > SHOWN:
            shown += f" and {len(self.requirements) - SHOWN} more"
        return f"{self.interpreter.label}: {shown}"
