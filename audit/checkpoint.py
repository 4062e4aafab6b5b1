"""`verify_audit`'s checkpoint: the end of the chain it last found intact, outside the database.

The chain alone cannot show that its start is gone: emptied tables (TRUNCATE
past the trigger) or a cut-off prefix with the head rewritten leave a chain
that verifies. The checkpoint remembers how many events led to which event,
with which hash; the next check must find them again. One JSON file holds one
checkpoint per database (``BATON_AUDIT_CHECKPOINT``), so keep it where the
database's owner cannot write: another disk, machine, or a copy off-site.
"""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone


class CheckpointError(Exception):
    """The checkpoint file cannot be read or written; the message says which and why."""


@dataclass(frozen=True)
class Checkpoint:
    count: int  # events in the chain, from the first one up to last_id
    last_id: int
    last_hash: str
    checked_at: str  # when the check that wrote it ran (ISO 8601, UTC)


def checkpoint_path() -> Path:
    return Path(settings.BATON_AUDIT_CHECKPOINT)


def database_key() -> str:
    """Names the database the trail lives in, so that one file serves several."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:{Path(db['NAME']).resolve()}"
    return f"{connection.vendor}://{db['HOST'] or 'localhost'}:{db['PORT'] or ''}/{db['NAME']}"


def load_checkpoint(path: Path) -> Checkpoint | None:
    """This database's checkpoint in ``path``; None when there is none yet."""
    entry = _read(path).get(database_key())
    if entry is None:
        return None
    try:
        return Checkpoint(**entry)
    except TypeError:
        raise CheckpointError(
            f"The audit checkpoint {path} has an unreadable entry for {database_key()}"
        ) from None


def save_checkpoint(path: Path, *, count: int, last_id: int, last_hash: str) -> Checkpoint:
    """Replace this database's checkpoint in ``path`` (atomically: a crash leaves the old one)."""
    checkpoint = Checkpoint(count, last_id, last_hash, timezone.now().isoformat(timespec="seconds"))
    entries = _read(path)
    entries[database_key()] = asdict(checkpoint)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(json.dumps(entries, indent=2, sort_keys=True) + "\n")
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CheckpointError(f"Cannot write the audit checkpoint {path}: {exc.strerror}") from None
    return checkpoint


def _read(path: Path) -> dict:
    try:
        entries = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CheckpointError(f"Cannot read the audit checkpoint {path}: {exc.strerror}") from None
    except ValueError:
        raise CheckpointError(f"The audit checkpoint {path} is not valid JSON") from None
    if not isinstance(entries, dict):
        raise CheckpointError(f"The audit checkpoint {path} is not a JSON object")
    return entries
