"""PostgreSQL: drop the LIKE-pattern index Django adds beside a text primary key.

Digests are looked up by equality only (the primary key's own index); the second index on
300,000+ random 32-character keys doubled what every batch of an import wrote into this
table. SQLite has no such index.
"""

from django.db import migrations


def drop_pattern_index(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'history_importedline' "
            "AND indexdef LIKE '%%varchar_pattern_ops%%'"
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")


def create_pattern_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX history_importedline_digest_like "
        "ON history_importedline (digest varchar_pattern_ops)"
    )


class Migration(migrations.Migration):
    dependencies = [("history", "0002_import_runs")]

    operations = [migrations.RunPython(drop_pattern_index, create_pattern_index)]
