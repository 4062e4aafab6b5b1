"""The local admin account of the embedded default, as Airflow's standalone mode makes one."""

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

USERNAME = "admin"


@dataclass
class LocalLogin:
    username: str
    password: str | None  # None when the admin was not created by Baton
    password_file: Path


def password_file() -> Path:
    return Path(settings.VAR_DIR) / "admin-password.txt"


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
