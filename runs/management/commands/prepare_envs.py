"""``manage.py prepare_envs``: build every environment the loaded workflows need."""

from django.core.management.base import BaseCommand, CommandError

from runs.environments.build import EnvironmentBuildFailed, build_environment
from runs.environments.needed import needed_environments
from runs.environments.store import EnvironmentDirUnusable, check_env_dir
from workflows.live import fresh_registry


class Command(BaseCommand):
    help = (
        "Build every isolated environment the loaded workflows' tasks need, into "
        "BATON_ENV_DIR (for an image build or a deploy step); those already built are kept."
    )

    def handle(self, *args, **options):
        try:
            check_env_dir()
        except EnvironmentDirUnusable as exc:
            raise CommandError(str(exc)) from None
        needed = needed_environments(fresh_registry())
        failures = list(needed.problems)
        for problem in needed.problems:
            self.stderr.write(problem)
        for key, entry in needed.by_key.items():
            used_by = ", ".join(entry.used_by)
            try:
                built = build_environment(entry.spec, log=self._progress)
            except EnvironmentBuildFailed as exc:
                self.stderr.write(f"{used_by}: {exc}")
                failures.append(f"{key} ({used_by})")
                continue
            state = "built" if built else "already built"
            self.stdout.write(f"{key} {state}, used by {used_by}")
        if failures:
            raise CommandError(f"{len(failures)} environment(s) could not be prepared.")
        self.stdout.write(f"{len(needed.by_key)} environment(s) ready.")

    def _progress(self, text: str) -> None:
        self.stdout.write(text, ending="")
