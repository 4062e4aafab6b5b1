"""``manage.py envs``: the isolated task environments of this machine; ``--prune`` removes
the unused ones."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from runs.environments.needed import needed_environments
from runs.environments.store import (
    EnvironmentDirUnusable,
    check_env_dir,
    prune_environments,
    stored_environments,
)
from workflows.live import fresh_registry


class Command(BaseCommand):
    help = (
        "List the isolated task environments in BATON_ENV_DIR: key, Python, size, last use, "
        "the loaded workflows that use each, requirements. --prune removes those unused for "
        "BATON_ENV_MAX_AGE_DAYS, then the least recently used beyond BATON_ENV_MAX_MB; never "
        "one a task is using."
    )

    def add_arguments(self, parser):
        parser.add_argument("--prune", action="store_true", help="Remove unused environments.")
        parser.add_argument(
            "--max-age-days",
            type=int,
            default=settings.BATON_ENV_MAX_AGE_DAYS,
            help="With --prune: remove those unused this many days (BATON_ENV_MAX_AGE_DAYS).",
        )
        parser.add_argument(
            "--max-mb",
            type=int,
            default=settings.BATON_ENV_MAX_MB,
            help="With --prune: then keep all of them under this size (BATON_ENV_MAX_MB; 0: any).",
        )

    def handle(self, *args, prune, max_age_days, max_mb, **options):
        if max_age_days < 0 or max_mb < 0:
            raise CommandError("--max-age-days and --max-mb must be 0 or more.")
        try:
            check_env_dir()
        except EnvironmentDirUnusable as exc:
            raise CommandError(str(exc)) from None
        if prune:
            self._prune(max_age_days, max_mb)
        else:
            self._list()

    def _list(self) -> None:
        stored = stored_environments()
        if not stored:
            self.stdout.write(f"No environment in {settings.BATON_ENV_DIR}.")
            return
        needed = needed_environments(fresh_registry())
        self.stdout.write(
            f"{'KEY':<16}  {'PYTHON':<8}  {'SIZE':>9}  {'LAST USED':<16}  WORKFLOWS  REQUIREMENTS"
        )
        for env in reversed(stored):  # most recently used first
            used = timezone.localtime(env.last_used).strftime("%Y-%m-%d %H:%M")
            workflows = ", ".join(needed.workflows_of(env.key)) or "(none loaded)"
            requirements = " ".join(env.requirements) or "(no packages)"
            self.stdout.write(
                f"{env.key:<16}  {env.python:<8}  {env.size_mb:>6.1f} MB  {used:<16}  "
                f"{workflows}  {requirements}"
            )
        total = sum(env.size_mb for env in stored)
        self.stdout.write(f"{len(stored)} environment(s), {total:.1f} MB.")

    def _prune(self, max_age_days: int, max_mb: int) -> None:
        removed, in_use = prune_environments(max_age_days=max_age_days, max_mb=max_mb)
        for env in removed:
            requirements = " ".join(env.requirements) or "(no packages)"
            self.stdout.write(f"Removed {env.key} ({env.size_mb:.1f} MB): {requirements}")
        for env in in_use:
            self.stdout.write(f"Kept {env.key}: a task is using it.")
        freed = sum(env.size_mb for env in removed)
        self.stdout.write(f"Removed {len(removed)} environment(s), {freed:.1f} MB freed.")
