import sys

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_after_migrate(sender, using, verbosity=1, **kwargs):
    """Sync after migrate, never pruning; a broken workflow file is reported, not fatal."""
    from .live import fresh_registry
    from .sync import sync_workflows

    report = sync_workflows(registry=fresh_registry())
    if verbosity:  # the details were logged as they were found
        out = kwargs.get("stdout") or sys.stderr
        for problem in report.problems():
            out.write(f"Workflows: {problem}\n")


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self):
        post_migrate.connect(_sync_after_migrate, sender=self, dispatch_uid="baton_sync_workflows")
