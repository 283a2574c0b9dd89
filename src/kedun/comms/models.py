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
    # What could not be read (broken MIME, an undecodable part): the message is kept with what
    # could be, and the mailbox's status names it.
    parse_problem = models.CharField(max_length=500, blank=True, default="")

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
    # The customer wrote it (its From is the customer's): customer mail, as opposed to mail to
    # the customer — what a forward to a private address carries away.
    from_customer = models.BooleanField(default=False)

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
    # The mailbox the message came from (or was sent through); null for imported history.
    mailbox = models.ForeignKey(
        "Mailbox", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
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


# -- mailboxes and their sync state ------------------------------------------------------------


class Security(models.TextChoices):
    SSL = "ssl", _("SSL/TLS")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("None (plain text)")


class MailboxStatus(models.TextChoices):
    NEW = "new", _("Not synced yet")
    OK = "ok", _("OK")
    WARNING = "warning", _("Synced, with problems")
    ERROR = "error", _("Failed")


class Mailbox(models.Model):
    """A company mailbox, synced over IMAP and sent through over SMTP, linked to the user whose
    mail it is. The password is stored encrypted (comms/secrets.py)."""

    address = models.CharField(_("address"), max_length=254, unique=True)  # lower-cased
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("user"),
    )
    imap_host = models.CharField(_("IMAP server"), max_length=200)
    imap_port = models.PositiveIntegerField(_("IMAP port"))
    imap_security = models.CharField(
        _("IMAP security"), max_length=8, choices=Security.choices, default=Security.SSL
    )
    smtp_host = models.CharField(_("SMTP server"), max_length=200)
    smtp_port = models.PositiveIntegerField(_("SMTP port"))
    smtp_security = models.CharField(
        _("SMTP security"), max_length=8, choices=Security.choices, default=Security.SSL
    )
    login = models.CharField(_("login"), max_length=254)
    password_encrypted = models.TextField()
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    # The last sync's outcome, shown on the mailbox page: its counts, and what went wrong as
    # {"code", "params"} (comms/problems.py words them in the reader's language).
    status = models.CharField(
        _("status"), max_length=8, choices=MailboxStatus.choices, default=MailboxStatus.NEW
    )
    status_counts = models.JSONField(default=dict, blank=True)
    status_problems = models.JSONField(default=list, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(_("last successful sync"), null=True, blank=True)
    # A sync holds the mailbox while it runs (several workers, a command): who, and until when
    # the hold lasts unless renewed. A holder that died is passed over (comms/sync.py).
    sync_holder = models.CharField(max_length=200, blank=True)
    sync_lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("mailbox")
        constraints = [
            models.CheckConstraint(
                condition=Q(imap_security__in=Security.values)
                & Q(smtp_security__in=Security.values),
                name="mailbox_security_known",
            ),
            models.CheckConstraint(
                condition=Q(status__in=MailboxStatus.values), name="mailbox_status_known"
            ),
            models.CheckConstraint(
                condition=Q(imap_port__gte=1, imap_port__lte=65535)
                & Q(smtp_port__gte=1, smtp_port__lte=65535),
                name="mailbox_ports_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.address


class FolderRole(models.TextChoices):
    INBOX = "inbox", _("Inbox")
    SENT = "sent", _("Sent")


class MailFolder(models.Model):
    """Where a mailbox's sync stands in one folder: messages up to `last_uid` of the folder's
    `uidvalidity` are archived. Both move in the transaction that stores a batch."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folders")
    role = models.CharField(max_length=8, choices=FolderRole.choices)
    name = models.CharField(max_length=500)  # as the server calls it (INBOX, 已发送, Sent Items)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "role"], name="mail_folder_once"),
            models.CheckConstraint(
                condition=Q(role__in=FolderRole.values), name="mail_folder_role_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.name}"


class Attachment(models.Model):
    """A file attached to a message. Files are stored by content (SHA-256): one copy however
    many messages carry it, and the same digest finds a quote PDF sent on elsewhere."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    position = models.PositiveSmallIntegerField()
    filename = models.CharField(_("file name"), max_length=300)
    content_type = models.CharField(max_length=150)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(max_length=300)

    class Meta:
        verbose_name = _("attachment")
        indexes = [models.Index(fields=["sha256"], name="attachment_sha_idx")]
        constraints = [
            models.UniqueConstraint(fields=["message", "position"], name="attachment_once")
        ]

    def __str__(self) -> str:
        return self.filename


class DraftStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    FAILED = "failed", _("Not sent")
    SENT = "sent", _("Sent")


class MailDraft(models.Model):
    """A message composed in Kedun. A send that fails leaves it here with the reason; a sent
    one points to the archived message."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    mailbox = models.ForeignKey(Mailbox, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reply_to = models.ForeignKey(
        Message, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to = models.TextField(_("to"))
    cc = models.TextField(_("cc"), blank=True)
    bcc = models.TextField(_("bcc"), blank=True)
    subject = models.CharField(_("subject"), max_length=1000, blank=True)
    body = models.TextField(_("message"), blank=True)
    status = models.CharField(max_length=8, choices=DraftStatus.choices, default=DraftStatus.DRAFT)
    error = models.TextField(blank=True)
    message = models.ForeignKey(
        Message, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("draft")
        indexes = [models.Index(fields=["author", "status", "updated_at"], name="mail_draft_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DraftStatus.values), name="mail_draft_status_known"
            ),
            models.CheckConstraint(
                condition=Q(status="sent", message__isnull=False)
                | (~Q(status="sent") & Q(message__isnull=True)),
                name="mail_draft_sent_has_message",
            ),
        ]

    def __str__(self) -> str:
        return self.subject[:60]


class DraftAttachment(models.Model):
    draft = models.ForeignKey(MailDraft, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=300)
    content_type = models.CharField(max_length=150)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(max_length=300)

    def __str__(self) -> str:
        return self.filename


# -- documents ----------------------------------------------------------------------------------


class DocumentKind(models.TextChoices):
    CONTRACT = "contract", _("Contract")
    QUOTE = "quote", _("Quote")
    SPEC = "spec", _("Specification")
    OTHER = "other", _("Other")


class Document(models.Model):
    """A contract, quote or specification on a customer (and perhaps one of its orders), in
    versions; older versions are kept, every download is logged."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    order = models.ForeignKey(
        "sales.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The quote a generated quote PDF was made from (one document per quote number).
    quote = models.ForeignKey(
        "sales.Quote", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("type"), max_length=10, choices=DocumentKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # Deleting is hiding, as for mail: managers see it and restore it.
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("document")
        indexes = [models.Index(fields=["customer", "updated_at"], name="document_customer_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=DocumentKind.values), name="document_kind_known"
            ),
            models.UniqueConstraint(
                fields=["quote"], condition=Q(quote__isnull=False), name="document_one_per_quote"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class DocumentVersion(models.Model):
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    filename = models.CharField(_("file name"), max_length=300)
    content_type = models.CharField(max_length=150)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    file = models.FileField(max_length=300)
    note = models.CharField(_("note"), max_length=300, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("document version")
        indexes = [models.Index(fields=["sha256"], name="document_version_sha_idx")]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="document_version_once"),
            models.CheckConstraint(condition=Q(number__gte=1), name="document_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} v{self.number}"


class DocumentDownload(models.Model):
    """Who took which version when — shown on the document (also an audit.AccessEvent)."""

    version = models.ForeignKey(DocumentVersion, on_delete=models.PROTECT, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    ip = models.CharField(max_length=45, blank=True)
    preview = models.BooleanField(default=False)  # shown in the page rather than saved

    class Meta:
        indexes = [models.Index(fields=["version", "at"], name="document_download_idx")]

    def __str__(self) -> str:
        return f"{self.version_id} ← {self.user_id}"


# -- SMS ------------------------------------------------------------------------------------------


class SmsTemplate(models.Model):
    """A text with {variables}: {customer}, {contact}, {sender}, {company} and any other name
    the sender fills in."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    text = models.TextField(_("text"))
    # The provider's template code (Aliyun/Tencent gateways send by code, not by text).
    provider_code = models.CharField(_("provider template code"), max_length=100, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("SMS template")

    def __str__(self) -> str:
        return self.name


class SmsStatus(models.TextChoices):
    QUEUED = "queued", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class SmsMessage(models.Model):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    phone = models.CharField(_("phone"), max_length=20)  # E.164
    text = models.TextField(_("text"))
    template = models.ForeignKey(
        SmsTemplate, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(_("status"), max_length=8, choices=SmsStatus.choices)
    error = models.TextField(blank=True)
    provider_reference = models.CharField(max_length=200, blank=True)
    backend = models.CharField(max_length=20)
    sent_at = models.DateTimeField()

    class Meta:
        verbose_name = _("SMS")
        indexes = [
            models.Index(fields=["customer", "sent_at"], name="sms_customer_idx"),
            # The rate limit counts a sender's messages in the last hour and day.
            models.Index(fields=["sender", "sent_at"], name="sms_sender_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=SmsStatus.values), name="sms_status_known"
            )
        ]

    def __str__(self) -> str:
        return f"{self.phone}: {self.text[:30]}"
