from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


def _ensure_role_groups(sender, using, apps=global_apps, **kwargs):
    # `migrate` passes the migrated state's apps; `flush` passes none.
    from .roles import ensure_role_groups

    ensure_role_groups(apps, using=using)


def _ensure_cache_table(sender, using, **kwargs):
    # The login lockout counts failures in the cache: with the database cache (the default
    # without Redis), `migrate` creates its table, so no one has to remember createcachetable.
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        # The data migration creates the role groups; `flush` (between
        # transactional tests, or by hand) empties the tables without migrating
        # again but does send post_migrate, so they are re-created here too.
        post_migrate.connect(_ensure_role_groups, sender=self, dispatch_uid="baton_role_groups")
        post_migrate.connect(_ensure_cache_table, sender=self, dispatch_uid="baton_cache_table")
        from . import time_zones  # noqa: F401  (its login receiver copies the chosen zone)
