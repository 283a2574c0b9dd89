"""Exports of customers, contacts, orders and reports (MISSION §8): a permission; large ones
wait for a manager's approval; every file carries a watermark line and a canary row — a
customer that exists only in that file — so a leaked file names its exporter."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class ExportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    CONTACTS = "contacts", _("Contacts")
    ORDERS = "orders", _("Orders")
    DELIVERY_REPORT = "delivery_report", _("Delivery report (per customer, last 90 days)")


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"


class ExportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    READY = "ready", _("Ready")
    REJECTED = "rejected", _("Rejected")


class ExportRequest(models.Model):
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("what"), max_length=20, choices=ExportKind.choices)
    format = models.CharField(_("format"), max_length=4, choices=ExportFormat.choices)
    # The list's filters as the requester set them (name search, stage), canonical JSON.
    filters = models.JSONField(default=dict, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    # Rows in the requester's scope when asked: the approval is for this many, never more.
    rows = models.PositiveIntegerField(_("rows"))
    status = models.CharField(
        _("status"), max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    created_at = models.DateTimeField(_("asked at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    file = models.FileField(upload_to="exports/", blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        indexes = [
            models.Index(fields=["requester", "created_at"], name="export_requester_idx"),
            models.Index(
                fields=["status", "created_at"],
                condition=Q(status="pending"),
                name="export_pending_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ExportKind.values), name="export_kind_known"
            ),
            models.CheckConstraint(
                condition=Q(format__in=ExportFormat.values), name="export_format_known"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ExportStatus.values), name="export_status_known"
            ),
            # Never the requester's own approval (MISSION §8), whatever the code does.
            models.CheckConstraint(
                condition=~Q(decided_by=F("requester")), name="export_not_decided_by_requester"
            ),
            models.CheckConstraint(
                condition=Q(status="pending")
                | Q(decided_at__isnull=False)
                | Q(decided_by__isnull=True),
                name="export_decision_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} ({self.rows}) by {self.requester_id}"

    @property
    def filename(self) -> str:
        return f"kedun-{self.kind}-{self.pk}.{self.format}"


class Canary(models.Model):
    """The fake customer planted in one export: its name, number, phone and email appear
    nowhere else — not in the customer registry, not in any other file."""

    export = models.OneToOneField(ExportRequest, on_delete=models.PROTECT, related_name="canary")
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200, unique=True)
    # Digits only (13912345678); looked up after the same normalisation.
    phone = models.CharField(max_length=20, unique=True)
    email = models.CharField(max_length=254, unique=True)  # lower case
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("canary")

    def __str__(self) -> str:
        return f"canary {self.code} of export #{self.export_id}"


class ExportGrant(models.Model):
    """Export permission given to a user whose role does not carry it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField()
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("export permission")
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="export_grant_one_open"
            ),
            models.CheckConstraint(
                condition=~Q(granted_by=F("user")), name="export_grant_not_to_oneself"
            ),
        ]

    def __str__(self) -> str:
        return f"export permission of {self.user_id}"
