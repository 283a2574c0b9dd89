"""Customers registered before the pool existed: the clock starts at their registration, and
their history starts with a "registered" ownership event."""

from django.db import migrations
from django.db.models import F


def backfill(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    OwnershipEvent = apps.get_model("customers", "OwnershipEvent")
    Customer.objects.filter(owner__isnull=False, owned_since__isnull=True).update(
        owned_since=F("registered_at")
    )
    Customer.objects.filter(
        owner__isnull=True, merged_into__isnull=True, pool_entered_at__isnull=True
    ).update(pool_entered_at=F("registered_at"))
    # One set-based statement: a registry of a million customers upgrades in seconds.
    quote = schema_editor.connection.ops.quote_name
    events, customers = OwnershipEvent._meta.db_table, Customer._meta.db_table
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(events)} "
            "(customer_id, kind, from_owner_id, to_owner_id, actor_id, reason, at) "
            f"SELECT c.id, 'registered', NULL, c.owner_id, c.registered_by_id, '', c.registered_at "
            f"FROM {quote(customers)} c WHERE NOT EXISTS "
            f"(SELECT 1 FROM {quote(events)} e WHERE e.customer_id = c.id)"
        )


class Migration(migrations.Migration):
    dependencies = [("customers", "0008_lifecycle_follow_ups_team_ownership")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
