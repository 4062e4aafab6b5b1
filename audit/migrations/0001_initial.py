"""The audit trail moves from ``accounts`` to its own app: state only, same tables.

The models were created by ``accounts`` 0004/0005; here Django's state learns
that they belong to ``audit`` now, and their content types (which their
permissions, e.g. ``view_auditevent``, hang on) follow them, so nobody loses a
right and no row is copied.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODELS = ("auditevent", "auditchainhead")


def move_content_types(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.using(schema_editor.connection.alias).filter(
        app_label="accounts", model__in=MODELS
    ).update(app_label="audit")


def move_content_types_back(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.using(schema_editor.connection.alias).filter(
        app_label="audit", model__in=MODELS
    ).update(app_label="accounts")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0005_audit_permission_verbs"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditChainHead",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("last_event_id", models.BigIntegerField(null=True)),
                        ("last_hash", models.CharField(max_length=64)),
                    ],
                    options={
                        "db_table": "accounts_auditchainhead",
                        "default_permissions": (),
                    },
                ),
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("created_at", models.DateTimeField(verbose_name="when")),
                        ("actor_label", models.CharField(max_length=150, verbose_name="actor")),
                        (
                            "token_name",
                            models.CharField(blank=True, max_length=100, verbose_name="API token"),
                        ),
                        (
                            "verb",
                            models.CharField(
                                choices=[
                                    ("login", "logged in"),
                                    ("logout", "logged out"),
                                    ("login.failed", "login failed"),
                                    ("login.refused", "login refused"),
                                    ("run.triggered", "run triggered"),
                                    ("run.cancelled", "run cancelled"),
                                    ("run.retried", "failed tasks retried"),
                                    ("task.retried", "task retried"),
                                    ("task.marked", "task marked"),
                                    ("workflow.paused", "workflow paused"),
                                    ("workflow.unpaused", "workflow unpaused"),
                                    ("workflow.added", "workflow added"),
                                    ("workflow.deactivated", "workflow deactivated"),
                                    ("schedule.created", "schedule created"),
                                    ("schedule.changed", "schedule changed"),
                                    ("schedule.deleted", "schedule deleted"),
                                    ("role.granted", "role granted"),
                                    ("role.revoked", "role revoked"),
                                    ("permission.granted", "permission granted"),
                                    ("permission.revoked", "permission revoked"),
                                    ("token.created", "API token created"),
                                    ("token.revoked", "API token revoked"),
                                    ("admin.added", "added in the admin"),
                                    ("admin.changed", "changed in the admin"),
                                    ("admin.deleted", "deleted in the admin"),
                                ],
                                max_length=40,
                                verbose_name="action",
                            ),
                        ),
                        (
                            "object_type",
                            models.CharField(
                                blank=True, max_length=100, verbose_name="object type"
                            ),
                        ),
                        (
                            "object_id",
                            models.CharField(blank=True, max_length=64, verbose_name="object id"),
                        ),
                        (
                            "object_label",
                            models.CharField(blank=True, max_length=200, verbose_name="object"),
                        ),
                        (
                            "workflow_slug",
                            models.CharField(blank=True, max_length=200, verbose_name="workflow"),
                        ),
                        (
                            "details",
                            models.JSONField(blank=True, default=dict, verbose_name="details"),
                        ),
                        (
                            "ip_address",
                            models.CharField(blank=True, max_length=45, verbose_name="IP address"),
                        ),
                        (
                            "user_agent",
                            models.CharField(blank=True, max_length=300, verbose_name="user agent"),
                        ),
                        (
                            "prev_hash",
                            models.CharField(max_length=64, verbose_name="previous hash"),
                        ),
                        ("hash", models.CharField(max_length=64, verbose_name="hash")),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                db_constraint=False,
                                null=True,
                                on_delete=django.db.models.deletion.DO_NOTHING,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="actor",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_auditevent",
                        "verbose_name": "audit event",
                        "verbose_name_plural": "audit events",
                        "ordering": ["-id"],
                        "default_permissions": ("view",),
                        "indexes": [
                            models.Index(fields=["workflow_slug", "id"], name="audit_workflow_id"),
                            models.Index(fields=["actor_label", "id"], name="audit_actor_id"),
                            models.Index(fields=["verb", "id"], name="audit_verb_id"),
                            models.Index(fields=["created_at"], name="audit_created_at"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
