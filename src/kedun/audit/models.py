"""The audit trail: append-only, hash-chained events.

Each event's hash is SHA-256 over its canonical content, which includes the previous event's
hash: editing, deleting, inserting or reordering any row breaks the chain from that row on.
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
