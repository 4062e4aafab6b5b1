from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_after_migrate(sender, using, **kwargs):
    from .registry import get_registry
    from .sync import sync_workflows

    sync_workflows(registry=get_registry())


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows"

    def ready(self):
        post_migrate.connect(_sync_after_migrate, sender=self, dispatch_uid="baton_sync_workflows")
