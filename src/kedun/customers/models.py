"""The customer registry (foundation part: records, owner, contacts).

Identity matching, masking, merge and import come with the registry issue; this is the record
every later app attaches to and the first object the data scopes apply to.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Stage(models.TextChoices):
    LEAD = "lead", _("Lead")
    CONTACTED = "contacted", _("Contacted")
    NEEDS_CONFIRMED = "needs_confirmed", _("Needs confirmed")
    QUOTED = "quoted", _("Quoted")
    WON = "won", _("Won")
    REPEAT = "repeat", _("Repeat")
    LOST = "lost", _("Lost")
    INVALID = "invalid", _("Invalid")


class Customer(models.Model):
    code = models.CharField(_("customer number"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.LEAD)
    # Null while the customer is in the public pool.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_customers",
        verbose_name=_("owner"),
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="registered_customers",
        verbose_name=_("registered by"),
    )
    registered_at = models.DateTimeField(_("registered at"))
    last_follow_up_at = models.DateTimeField(_("last follow-up"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer")
        indexes = [models.Index(fields=["owner", "registered_at"], name="customer_owner_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stage__in=Stage.values), name="customer_stage_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("title"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)

    class Meta:
        verbose_name = _("contact")

    def __str__(self) -> str:
        return self.name
