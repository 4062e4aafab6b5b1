"""PostgreSQL refuses TRUNCATE of the audit tables, as it already refuses UPDATE and DELETE.

TRUNCATE fires no row trigger, so the append-only trigger of ``accounts`` 0004
let it empty the trail; ``verify_audit`` then found an empty, intact chain. A
statement trigger refuses it now. The table owner can still disable it:
``verify_audit``'s checkpoint, kept outside the database, notices what went.
"""

from django.db import migrations

TABLES = ("accounts_auditevent", "accounts_auditchainhead")

REFUSE_TRUNCATE_SQL = """
CREATE OR REPLACE FUNCTION audit_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (TRUNCATE of % refused)', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate();\n"
    for table in TABLES
)

DROP_SQL = "".join(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};\n" for table in TABLES)
DROP_SQL += "DROP FUNCTION IF EXISTS audit_refuse_truncate();\n"


def add_truncate_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REFUSE_TRUNCATE_SQL, params=None)  # "%" is plpgsql's here


def drop_truncate_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(add_truncate_triggers, drop_truncate_triggers)]
