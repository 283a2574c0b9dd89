"""Key the audit chain: events from here on are HMAC-SHA-256 under the audit key (chain.py).

The marker records the head as it stands now; events up to it keep verifying as plain SHA-256.
Stop the application servers while migrating: an old process appending after the marker would
write a plain event where a keyed one is due, and verification would (rightly) name it.
"""

from django.db import migrations, models


def keying_begins(apps, schema_editor):
    from kedun.audit.chain import keying_signature
    from kedun.audit.models import GENESIS_HASH

    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChainKeying = apps.get_model("audit", "AuditChainKeying")
    from django.utils import timezone

    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    head_seq, head_hash = head if head else (0, GENESIS_HASH)
    AuditChainKeying.objects.create(
        first_keyed_seq=head_seq + 1,
        prev_hash=head_hash,
        recorded_at=timezone.now(),
        signature=keying_signature(first_keyed_seq=head_seq + 1, prev_hash=head_hash),
    )


def install_triggers(apps, schema_editor):
    from kedun.audit import triggers

    triggers.keying_install(schema_editor.connection)


def remove_triggers(apps, schema_editor):
    from kedun.audit import triggers

    triggers.keying_remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_access_events")]

    operations = [
        migrations.CreateModel(
            name="AuditChainKeying",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("first_keyed_seq", models.BigIntegerField()),
                ("prev_hash", models.CharField(max_length=64)),
                ("recorded_at", models.DateTimeField()),
                ("signature", models.CharField(max_length=64)),
            ],
            options={
                "verbose_name": "audit chain keying",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("id", 1)), name="audit_keying_single_row"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("first_keyed_seq__gte", 1)),
                        name="audit_keying_seq_positive",
                    ),
                ],
            },
        ),
        # Backwards: the table goes with its rows, so nothing to undo for the marker itself.
        migrations.RunPython(keying_begins, migrations.RunPython.noop),
        migrations.RunPython(install_triggers, remove_triggers),
    ]
