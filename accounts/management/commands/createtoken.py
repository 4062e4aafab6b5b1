"""``manage.py createtoken USERNAME``: print a new API token (for scripts and CI)."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.services import create_token


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (only this once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the token is for.")
        parser.add_argument(
            "--expires-days", type=int, default=None, help="Expire after N days (default: never)."
        )

    def handle(self, *args, username, name, expires_days, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is named '{username}'.")
        if not user.is_active:
            raise CommandError(f"The user '{username}' is deactivated; a token would not work.")
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be 1 or more.")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        token, raw_token = create_token(user=user, name=name, expires_at=expires_at)
        # Only the token on stdout, so that `TOKEN=$(manage.py createtoken ci)` works.
        self.stdout.write(raw_token)
        expiry = f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "never expires"
        note = f"Token '{name}' for {username}, {expiry}. It is not shown again."
        self.stderr.write(note, style_func=str)
