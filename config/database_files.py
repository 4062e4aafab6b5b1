"""Local files that belong to one database: the scheduler's lock, the local admin's password.

Keyed by database, so two Baton instances in one checkout (`make run` beside
`make test`, whose test database is a file of its own) never share them.
"""

import hashlib
from pathlib import Path

from django.conf import settings
from django.db import connection


def file_for_database(name: str) -> Path:
    """The file ``name`` (like ``scheduler.lock``) of the database in use.

    A SQLite file keeps it beside itself (``var/baton.sqlite3`` →
    ``var/baton.scheduler.lock``); any other database in ``var/``, suffixed by a
    hash of its server and name (``var/scheduler-1a2b3c4d5e6f.lock``).
    """
    db = connection.settings_dict
    if connection.vendor == "sqlite" and not connection.is_in_memory_db():
        database = Path(db["NAME"])
        return database.with_name(f"{database.stem}.{name}")
    identity = f"{connection.vendor}:{db.get('HOST')}:{db.get('PORT')}:{db['NAME']}"
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    stem, dot, extension = name.partition(".")
    return Path(settings.VAR_DIR) / f"{stem}-{digest}{dot}{extension}"
