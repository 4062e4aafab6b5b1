"""The role groups Viewer, Operator, Editor and Owner, with their permissions on all workflows."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from accounts.roles import ensure_role_groups


def create_role_groups(apps, schema_editor):
    workflows = apps.get_app_config("workflows")
    # Django creates permissions after the last migration (post_migrate); the
    # groups need them now. models_module is None on historical app configs,
    # which create_permissions takes for "no models".
    workflows.models_module = True
    alias = schema_editor.connection.alias
    create_permissions(workflows, verbosity=0, using=alias, apps=apps)
    ensure_role_groups(apps, using=alias)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("workflows", "0001_initial"),
    ]

    operations = [
        # Reversing leaves the groups: they may hold members and extra permissions.
        migrations.RunPython(create_role_groups, migrations.RunPython.noop),
    ]
