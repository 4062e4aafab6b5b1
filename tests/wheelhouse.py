"""Tiny wheels written by hand, so environment tests and benchmarks need no network."""

import base64
import hashlib
import zipfile
from pathlib import Path

PACKAGE = "batontestpkg"


def write_wheel(folder: Path, name: str, version: str, *, body: str = "") -> Path:
    """A pure-Python wheel of one module ``name`` holding ``__version__`` (and ``body``)."""
    dist = f"{name}-{version}"
    files = {
        f"{name}/__init__.py": f'__version__ = "{version}"\n{body}',
        f"{dist}.dist-info/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
            f"Summary: A package for Baton's environment tests\n"
        ),
        f"{dist}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: baton-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = [f"{path},sha256={_digest(text)},{len(text.encode())}" for path, text in files.items()]
    files[f"{dist}.dist-info/RECORD"] = "\n".join([*record, f"{dist}.dist-info/RECORD,,"]) + "\n"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for member, text in files.items():
            wheel.writestr(member, text)
    return path


def write_wheelhouse(folder: Path) -> Path:
    """``batontestpkg`` 1.0 and 2.0, and a ``six`` 1.16.0 (the worker has 1.17.0) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for version in ("1.0", "2.0"):
        write_wheel(folder, PACKAGE, version)
    write_wheel(folder, "six", "1.16.0")
    return folder


def _digest(text: str) -> str:
    raw = hashlib.sha256(text.encode()).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
