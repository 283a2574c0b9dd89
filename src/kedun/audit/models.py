"""The audit trail: append-only, hash-chained events.

Each event's hash is HMAC-SHA-256 under the audit key (plain SHA-256 before keying began, see
chain.py) over its canonical content, which includes the previous event's hash: editing,
deleting, inserting or reordering any row breaks the chain from that row on.
The database refuses UPDATE and DELETE on this table (triggers, see triggers.py).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    # The position in the chain: 1, 2, 3 … with no gaps.
    seq = models.BigIntegerField(primary_key=True)
    occurred_at = models.DateTimeField(_("time"))
    # db_constraint=False: the chain must never depend on another table's rows; the label keeps
    # who acted readable (and hashed) whatever happens to the user record.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150)
    action = models.CharField(_("action"), max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    # Canonical JSON text ({"field": [before, after]} or event data), hashed exactly as stored.
    changes = models.TextField(default="{}")
    ip = models.CharField(max_length=45, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("audit event")
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["actor", "occurred_at"], name="audit_actor_time_idx"),
            models.Index(fields=["action", "occurred_at"], name="audit_action_time_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    @property
    def changes_data(self) -> Any:
        return json.loads(self.changes)


class AuditChainKeying(models.Model):
    """Where the chain became keyed: events from first_keyed_seq on carry HMAC-SHA-256 under the
    audit key, those before it plain SHA-256 (chain.py). One row, recorded by migration 0004 at
    the then head (or by the first append to an empty chain), signed with the key so that
    moving the boundary needs the key too. Append-only, like the events."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    first_keyed_seq = models.BigIntegerField()
    # The hash of entry first_keyed_seq − 1 when keying began (GENESIS_HASH for entry 1).
    prev_hash = models.CharField(max_length=64)
    recorded_at = models.DateTimeField()
    signature = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("audit chain keying")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="audit_keying_single_row"),
            models.CheckConstraint(
                condition=models.Q(first_keyed_seq__gte=1), name="audit_keying_seq_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"keyed from #{self.first_keyed_seq}"


class AccessKind(models.TextChoices):
    VIEW = "view", _("Opened a customer")
    REVEAL = "reveal", _("Revealed contact data")
    EXPORT = "export", _("Exported")
    DOWNLOAD = "download", _("Downloaded a file")


class AccessEvent(models.Model):
    """Someone looked at or took data: a customer opened, contact data revealed, an export, a
    file downloaded. Reads are too frequent for the hash chain, so they live here, one row
    each; writes (and reveals, exports) are also in the chain. Insights read this table for
    unusual viewing before a departure (MISSION §9), budgets count it (MISSION §8)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=10, choices=AccessKind.choices)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    rows = models.PositiveIntegerField(_("rows"), default=0)  # an export's size
    # What was exported or downloaded ("customers", a document's id …); free text.
    subject = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(_("time"))
    ip = models.CharField(max_length=45, blank=True)

    class Meta:
        verbose_name = _("access event")
        indexes = [
            models.Index(fields=["user", "at"], name="access_user_idx"),
            models.Index(fields=["customer", "at"], name="access_customer_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=AccessKind.values), name="access_kind_known"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.customer_id or ''}"
