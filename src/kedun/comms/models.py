"""The company's copy of its conversations with customers (MISSION §7).

A message is stored once, by its Message-ID, however many mailboxes hold it; each holder is a
MessageOwner. Deleting is hiding: a rep's delete marks their MessageOwner row hidden, and the
message, its addresses and the fact of the deletion stay for managers and for insights.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Competitor(models.Model):
    """A company that competes for the same customers, with its mail domains (MISSION §7, §9)."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("competitor")

    def __str__(self) -> str:
        return self.name


class CompetitorDomain(models.Model):
    competitor = models.ForeignKey(Competitor, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(_("mail domain"), max_length=200, unique=True)

    class Meta:
        verbose_name = _("competitor domain")

    def __str__(self) -> str:
        return self.domain


class MessageSource(models.TextChoices):
    IMAP = "imap", _("Synced from a mailbox")
    SENT = "sent", _("Sent through Kedun")
    IMPORT = "import", _("Imported history")


class Message(models.Model):
    # RFC 5322 Message-ID, angle brackets stripped; for mail without one, a digest of its
    # headers (see the sync), for imported history a digest of the event.
    message_id = models.CharField(max_length=500, unique=True)
    subject = models.CharField(_("subject"), max_length=1000, blank=True)
    from_address = models.CharField(_("from"), max_length=254, blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(_("date"))
    in_reply_to = models.CharField(max_length=500, blank=True)
    references = models.TextField(blank=True)
    # The Message-ID of the thread's first message known to Kedun.
    thread_root = models.CharField(max_length=500, blank=True)
    body_text = models.TextField(blank=True)
    raw = models.FileField(upload_to="mail/raw/%Y/%m/", blank=True)
    size = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=8, choices=MessageSource.choices)
    stored_at = models.DateTimeField()

    class Meta:
        verbose_name = _("message")
        indexes = [
            models.Index(fields=["thread_root", "sent_at"], name="message_thread_idx"),
            models.Index(fields=["sent_at"], name="message_sent_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=MessageSource.values), name="message_source_known"
            )
        ]

    def __str__(self) -> str:
        return self.subject[:60]


class AddressRole(models.TextChoices):
    FROM = "from", _("From")
    TO = "to", _("To")
    CC = "cc", _("Cc")
    BCC = "bcc", _("Bcc")


class MessageAddress(models.Model):
    """One address on a message, lower-cased, with its domain: matching to customers and the
    competitor and private-address signals are index lookups on these."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="addresses")
    role = models.CharField(max_length=4, choices=AddressRole.choices)
    address = models.CharField(max_length=254)
    domain = models.CharField(max_length=200)
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["address"], name="message_address_idx"),
            models.Index(fields=["domain"], name="message_domain_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=AddressRole.values), name="message_address_role_known"
            )
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.address}"


class MessageCustomer(models.Model):
    """A message linked to a customer (by address or company domain). `sent_at` repeats the
    message's, so a customer's timeline reads one index in order."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="customer_links")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    sent_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["customer", "sent_at"], name="message_customer_idx")]
        constraints = [
            models.UniqueConstraint(fields=["message", "customer"], name="message_customer_once")
        ]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.customer_id}"


class MessageOwner(models.Model):
    """A user whose mailbox holds the message (sender or recipient). Hiding is per owner: the
    rep no longer sees it; managers see it marked, with who hid it and when, and may restore."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="owners")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    sent_at = models.DateTimeField()  # the message's, for a user's mail in order
    hidden_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    restored_at = models.DateTimeField(_("restored at"), null=True, blank=True)
    restored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        indexes = [models.Index(fields=["user", "sent_at"], name="message_owner_user_idx")]
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="message_owner_once")
        ]

    def __str__(self) -> str:
        return f"{self.message_id} @ {self.user_id}"


class SignalKind(models.TextChoices):
    TO_COMPETITOR = "to_competitor", _("Sent to a competitor's domain")
    FORWARD_PRIVATE = "forward_private", _("Customer mail forwarded to a private address")
    MATERIAL_OUTSIDE = "material_outside", _("Quote or price list sent outside the customer")


class MessageSignal(models.Model):
    """A fact about a message that insights read (MISSION §9); `detail` names the addresses."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="signals")
    kind = models.CharField(max_length=20, choices=SignalKind.choices)
    # The user the signal is about (the sender); indexed for a rep's signals over time.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    sent_at = models.DateTimeField()
    detail = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["user", "sent_at"], name="message_signal_user_idx")]
        constraints = [
            models.UniqueConstraint(fields=["message", "kind"], name="message_signal_once"),
            models.CheckConstraint(
                condition=Q(kind__in=SignalKind.values), name="message_signal_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message_id}: {self.kind}"
