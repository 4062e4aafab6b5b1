from django.core.management.base import BaseCommand

from workflows.registry import get_registry
from workflows.sync import sync_workflows


class Command(BaseCommand):
    help = "Write the workflows declared in code to the database (also run after migrate)."

    def handle(self, *args, **options):
        report = sync_workflows(registry=get_registry())
        for line in report.lines():
            self.stdout.write(line)
        if report.errors:
            self.stderr.write(
                self.style.WARNING(
                    f"{len(report.errors)} file(s) could not be loaded; the others were synced."
                )
            )
