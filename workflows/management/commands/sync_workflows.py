from django.core.management.base import BaseCommand, CommandError

from workflows.live import fresh_registry
from workflows.sync import sync_workflows


class Command(BaseCommand):
    help = (
        "Write the workflows declared in code to the database (also run after migrate). "
        "Exits non-zero when a workflow file could not be loaded, or when workflows missing "
        "from code were kept active because their folder looks missing (see --prune)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--prune",
            action="store_true",
            help=(
                "Deactivate every workflow missing from code, even when BATON_WORKFLOWS_DIR "
                "is unset or its folder is empty (history is kept)."
            ),
        )

    def handle(self, *args, **options):
        registry = fresh_registry()
        report = sync_workflows(registry=registry, prune=options["prune"])
        for line in report.lines():
            self.stdout.write(line)
        problems = report.problems()
        if registry.source_error:
            problems.insert(0, f"{registry.source_error}; the workflows stored before were kept.")
        if problems:
            raise CommandError(" ".join(problems))
