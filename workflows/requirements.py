"""``requirements=`` and ``python=``: what a task's isolated environment holds.

A list of requirement strings (``["pandas==2.2.3", "openpyxl>=3.1"]``) or the path of a
requirements file, relative to the file declaring the task or workflow. Both become the
same normalized tuple (comments and blank lines dropped, names lower-cased, spaces
removed, duplicates dropped, sorted), so that one set written two ways shares one
environment.
"""

import re
from pathlib import Path

from .errors import DefinitionError

REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# Interpreter requests uv understands: "3.12", "3.12.1", "cpython3.12" or an absolute path.
PYTHON_REQUEST = re.compile(r"(?:[a-z]*\d+(?:\.\d+){0,2}|/\S+)")


def normalized_requirements(value, *, base: Path, where: dict) -> tuple[str, ...] | None:
    """The requirements as a sorted tuple; None when not given (the workflow's apply)."""
    if value is None:
        return None
    if isinstance(value, (str, Path)):
        lines = _read_requirements_file(base / value, where)
    elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        lines = list(value)
    else:
        raise DefinitionError(
            f"requirements must be a list of requirement strings such as ['pandas==2.2.3'] or "
            f"the name of a requirements file, not {value!r}",
            **where,
        )
    requirements = set()
    for line in lines:
        text = " ".join(line.split("#", 1)[0].split())
        if not text:
            continue
        if text.startswith("-"):
            raise DefinitionError(
                f"requirement {text!r}: options such as -r, -e or --index-url are not accepted; "
                f"list packages only (the index comes from BATON_PIP_INDEX_URL)",
                **where,
            )
        requirements.add(_normalized(text))
    return tuple(sorted(requirements))


def _normalized(text: str) -> str:
    """``Pandas >= 2.2`` as ``pandas>=2.2``: the name as PyPI compares it, no spaces."""
    requirement, semicolon, marker = text.partition(";")
    name = REQUIREMENT_NAME.match(requirement)
    if name is None or "@" in requirement:  # left for uv to judge, or a URL: kept as written
        return text
    canonical = re.sub(r"[-_.]+", "-", name.group()).lower()
    rest = "".join(requirement[name.end() :].split())
    return canonical + rest + (f"; {' '.join(marker.split())}" if semicolon else "")


def checked_python(value, *, where: dict) -> str | None:
    """The ``python=`` request, e.g. "3.12", or None for the worker's own Python version."""
    if value is None:
        return None
    if not isinstance(value, str) or not PYTHON_REQUEST.fullmatch(value):
        raise DefinitionError(
            f"python must be a version such as '3.12' or the absolute path of an interpreter, "
            f"not {value!r}",
            **where,
        )
    return value


def _read_requirements_file(path: Path, where: dict) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DefinitionError(
            f"requirements file {str(path)!r} cannot be read: {exc.strerror} (a relative path "
            f"is taken from the folder of the file declaring the task)",
            **where,
        ) from None
    except UnicodeDecodeError:
        raise DefinitionError(
            f"requirements file {str(path)!r} is not UTF-8 text", **where
        ) from None
