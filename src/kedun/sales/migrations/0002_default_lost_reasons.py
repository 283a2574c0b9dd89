"""The starting list of lost reasons (输单原因, MISSION §5); the boss edits it afterwards.

The rows are written out here rather than imported, so that this migration keeps doing what
it did whatever the code becomes. An empty table later (a flushed test database) is handled
by kedun.sales.catalogue, which falls back to the same list.
"""

from django.db import migrations

DEFAULTS = [
    # code, label, needs a competitor's name
    ("price", "价格", False),
    ("delivery_time", "交期", False),
    ("quality", "质量", False),
    ("competitor", "竞争对手", True),
    ("budget", "预算", False),
    ("other", "其他", False),
]


def write_defaults(apps, schema_editor):
    LostReason = apps.get_model("sales", "LostReason")
    if LostReason.objects.using(schema_editor.connection.alias).exists():
        return
    LostReason.objects.using(schema_editor.connection.alias).bulk_create(
        LostReason(code=code, label=label, needs_competitor=needs, position=(i + 1) * 10)
        for i, (code, label, needs) in enumerate(DEFAULTS)
    )


def remove_defaults(apps, schema_editor):
    LostReason = apps.get_model("sales", "LostReason")
    # Only the untouched defaults: a reason a lost deal points at is protected anyway.
    LostReason.objects.using(schema_editor.connection.alias).filter(
        code__in=[code for code, _label, _needs in DEFAULTS],
        quote__isnull=True,
        order__isnull=True,
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_catalogue_quotes_orders_cash")]

    operations = [migrations.RunPython(write_defaults, remove_defaults)]
