"""Settings from the environment, where any NAME may instead be given as a file: NAME_FILE.

Docker and Swarm secrets, Kubernetes secret volumes and systemd credentials hand a
process its secrets as files (``/run/secrets/secret_key``), so that they stay out of
``docker inspect`` and ``/proc/<pid>/environ``: ``SECRET_KEY_FILE=/run/secrets/secret_key``
stands for ``SECRET_KEY``. The file wins over the variable, as in django-environ's
``FileAwareEnv``; its one trailing newline (``echo … | docker secret create``) is dropped.
"""

import os
import sys

import environ
from environ.fileaware_mapping import FileAwareMapping


class UnreadableSecretFile(Exception):
    """A NAME_FILE variable names a file this process cannot read."""


def read_secret_file(name: str, path: str) -> str:
    """The content of the file ``{name}_FILE`` names, without its trailing newline."""
    try:
        with open(path, encoding="utf-8") as handle:
            value = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UnreadableSecretFile(
            f"{name}_FILE={path}: cannot read this file ({reason}); "
            f"it should hold the value of {name}."
        ) from None
    return value.removesuffix("\n").removesuffix("\r")


def secret_from_environment(name: str) -> str | None:
    """``name``'s value from ``{name}_FILE`` or else ``name`` in the environment, or None."""
    path = os.environ.get(f"{name}_FILE", "")
    if path:
        return read_secret_file(name, path)
    return os.environ.get(name)


class SecretFileMapping(FileAwareMapping):
    def __getitem__(self, key):
        if key in self.files_cache:
            return self.files_cache[key]
        path = self.env.get(f"{key}_FILE", "")
        if not path:
            return self.env[key]
        try:
            self.files_cache[key] = read_secret_file(key, path)
        except UnreadableSecretFile as exc:
            sys.exit(f"Baton: {exc}")  # at start-up, a message rather than a traceback
        return self.files_cache[key]


class FileAwareEnv(environ.Env):
    """``environ.Env`` reading ``NAME_FILE`` before ``NAME`` (see the module's docstring)."""

    def __init__(self, **scheme):
        super().__init__(**scheme)
        self.ENVIRON = SecretFileMapping()
