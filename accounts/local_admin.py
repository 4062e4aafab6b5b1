"""The local admin account of the embedded default, as Airflow's standalone mode makes one."""

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from config.database_files import file_for_database

USERNAME = "admin"


@dataclass
class LocalLogin:
    username: str
    password: str | None  # None when the admin was not created by Baton
    password_file: Path


def password_file() -> Path:
    """The password of this database's admin; each database has its own file."""
    path = file_for_database("admin-password.txt")
    # Before files were kept per database, the default database's was var/admin-password.txt.
    legacy = Path(settings.VAR_DIR) / "admin-password.txt"
    if not path.exists() and legacy.exists() and _is_default_database():
        legacy.rename(path)
    return path


def _is_default_database() -> bool:
    name = connection.settings_dict["NAME"]
    return connection.vendor == "sqlite" and Path(name).resolve() == settings.SQLITE_PATH.resolve()


def ensure_local_admin() -> LocalLogin:
    """Create ``admin`` with a random password when there is no superuser yet."""
    User = get_user_model()
    path = password_file()
    if not User.objects.filter(is_superuser=True).exists():
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(USERNAME, email="", password=password)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(password + "\n")
        path.chmod(0o600)
        return LocalLogin(USERNAME, password, path)
    stored = path.read_text().strip() if path.exists() else None
    if stored and User.objects.filter(username=USERNAME, is_superuser=True).exists():
        return LocalLogin(USERNAME, stored, path)
    return LocalLogin(USERNAME, None, path)
