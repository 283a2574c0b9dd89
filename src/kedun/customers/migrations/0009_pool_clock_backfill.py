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
    events = [
        OwnershipEvent(
            customer_id=pk,
            kind="registered",
            to_owner_id=owner_id,
            actor_id=registered_by_id,
            at=registered_at,
        )
        for pk, owner_id, registered_by_id, registered_at in Customer.objects.filter(
            ownership_events__isnull=True
        ).values_list("pk", "owner_id", "registered_by_id", "registered_at")
    ]
    OwnershipEvent.objects.bulk_create(events, batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [("customers", "0008_lifecycle_follow_ups_team_ownership")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
