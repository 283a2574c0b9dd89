"""The customer registry: customers, their contacts, and the identity keys the duplicate
check looks up (names, phones, company domains, credit codes)."""

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


class LocationSource(models.TextChoices):
    SET = "set", _("Set on the page or through the API")
    IMPORTED = "imported", _("Imported")
    CHECK_IN = "check_in", _("A confirmed check-in")


def customer_number(pk: int) -> str:
    """The number people quote on the phone (客户编号) when the customer brings none: C000123."""
    return f"C{pk:06d}"


class Customer(models.Model):
    code = models.CharField(_("customer number"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=100, blank=True)
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.LEAD)
    # Null while the customer is in the public pool. No index of its own: the two indexes
    # below that start with the owner serve every lookup by owner, and each index on this
    # column is rewritten whenever a customer changes hands (a sweep releases thousands).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_customers",
        verbose_name=_("owner"),
        db_index=False,
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="registered_customers",
        verbose_name=_("registered by"),
        # Never looked up by; an index would be one more to rewrite whenever PostgreSQL
        # writes a new version of the row (every change of owner).
        db_index=False,
    )
    registered_at = models.DateTimeField(_("registered at"))
    last_follow_up_at = models.DateTimeField(_("last follow-up"), null=True, blank=True)
    english_name = models.CharField(_("English name"), max_length=200, blank=True)
    grade = models.CharField(_("grade"), max_length=8, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True)
    province = models.CharField(_("province"), max_length=50, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    district = models.CharField(_("district"), max_length=50, blank=True)
    # The street address is contact data: masked like phones for people without rights.
    address = models.CharField(_("address"), max_length=300, blank=True)
    # Set by an import when the row was a possible duplicate: a person should look at it.
    needs_review = models.BooleanField(_("needs review"), default=False)
    # 统一社会信用代码, validated (GB 32100-2015) and upper-cased; "" when unknown.
    tax_id = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    phone = models.CharField(_("phone"), max_length=100, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    website = models.CharField(_("website"), max_length=200, blank=True)
    # A merged record stays findable and points to the customer it became.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
        db_index=False,  # as registered_by; and SQLite's planner preferred it to the owner's
    )
    # The pool clock (MISSION §4). `owned_since`: when the current owner got the customer
    # (null in the pool). `last_follow_up_at` above is the last *qualifying* follow-up.
    owned_since = models.DateTimeField(_("owned since"), null=True, blank=True)
    pool_entered_at = models.DateTimeField(_("in the pool since"), null=True, blank=True)
    # The department whose pool holds the customer (the last owner's), for pool scoping.
    pool_department = models.ForeignKey(
        "org.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # the pool is read through customer_pool_department_idx
    )
    on_hold = models.BooleanField(_("on hold"), default=False)  # a manager's exemption
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    # Set when the owner was warned of the coming release; cleared when the clock restarts.
    release_warned_at = models.DateTimeField(null=True, blank=True)
    next_follow_up_on = models.DateField(_("next follow-up"), null=True, blank=True)
    # Where the customer's premises are, WGS-84 (core/geo.py converts GCJ-02 and BD-09 input).
    # Check-ins are measured against it; null until someone locates the customer.
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    lng = models.FloatField(_("longitude"), null=True, blank=True)
    location_source = models.CharField(
        _("location from"),
        max_length=12,
        choices=LocationSource.choices,
        blank=True,
        # Raw bulk inserts (benchmarks, crash tests) leave it out.
        db_default="",
    )
    located_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("customer")
        indexes = [
            models.Index(fields=["owner", "registered_at"], name="customer_owner_idx"),
            models.Index(fields=["pool_entered_at"], name="customer_pool_idx"),
            models.Index(fields=["owner", "next_follow_up_on"], name="customer_due_idx"),
            # The pool as a branch sees it (pool_department IN (…), newest first): only the
            # customers without an owner, so a change of owner outside the pool never
            # rewrites it (issue 13).
            models.Index(
                fields=["pool_department", "pool_entered_at"],
                name="customer_pool_department_idx",
                condition=models.Q(owner__isnull=True),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stage__in=Stage.values), name="customer_stage_known"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(lat__isnull=True, lng__isnull=True)
                    | models.Q(lat__gte=-90, lat__lte=90, lng__gte=-180, lng__lte=180)
                ),
                name="customer_location_whole",
            ),
            # One credit code, one customer: the database's backstop behind the matcher.
            models.UniqueConstraint(
                fields=["tax_id"],
                condition=~models.Q(tax_id="") & models.Q(merged_into__isnull=True),
                name="customer_tax_id_unique",
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
    wechat = models.CharField(_("WeChat"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("contact")

    def __str__(self) -> str:
        return self.name


class NameKind(models.TextChoices):
    NAME = "name", _("Name")
    SHORT = "short", _("Short name")
    ENGLISH = "english", _("English name")


class CustomerName(models.Model):
    """One name of a customer, parsed, with the keys the duplicate check looks up.

    Computed by the identity module when the customer is written; never edited by hand.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="name_keys")
    kind = models.CharField(max_length=10, choices=NameKind.choices)
    core = models.CharField(max_length=200)  # trade name + industry, normalised
    region = models.CharField(max_length=100, blank=True)  # "浙江/杭州/西湖"
    trade_name = models.CharField(max_length=100)
    pinyin = models.CharField(max_length=600)
    fuzzy = models.CharField(max_length=600)

    class Meta:
        indexes = [
            models.Index(fields=["core"], name="customer_name_core_idx"),
            models.Index(fields=["trade_name"], name="customer_name_trade_idx"),
            models.Index(fields=["pinyin"], name="customer_name_pinyin_idx"),
            models.Index(fields=["fuzzy"], name="customer_name_fuzzy_idx"),
        ]

    def __str__(self) -> str:
        return self.core


class CustomerNameGram(models.Model):
    """Character bigrams of a customer's name cores: finds a name typed in part or with a
    typo, with an index lookup per bigram instead of a scan (IDENTITY-NOTES.md)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    gram = models.CharField(max_length=2)

    class Meta:
        indexes = [models.Index(fields=["gram", "customer"], name="customer_gram_idx")]

    def __str__(self) -> str:
        return self.gram


class CustomerPhone(models.Model):
    """A phone of the customer or of one of its contacts, in E.164. Never unique: an
    accounting agent's number stands on many companies."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(max_length=20)

    class Meta:
        indexes = [models.Index(fields=["number"], name="customer_phone_number_idx")]

    def __str__(self) -> str:
        return self.number


class CustomerDomain(models.Model):
    """A company domain from the customer's website or its people's email (never free mail)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["domain"], name="customer_domain_idx")]

    def __str__(self) -> str:
        return self.domain


class NeedStatus(models.TextChoices):
    OPEN = "open", _("Open")
    QUOTED = "quoted", _("Quoted")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Need(models.Model):
    """需求: what the customer wants, recorded the moment it appears (MISSION §2)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="needs")
    what = models.CharField(_("need"), max_length=300)
    quantity = models.CharField(_("quantity"), max_length=100, blank=True)
    expected_date = models.DateField(_("expected date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=NeedStatus.choices, default=NeedStatus.OPEN
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("need")

    def __str__(self) -> str:
        return self.what


class CollaborationNote(models.Model):
    """协作记录: a contact and a need logged by someone who does not own the customer (the
    小李/小张 scene of MISSION §3). It stays on the customer's timeline."""

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="collaboration_notes"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    contact_phone = models.CharField(_("phone"), max_length=100, blank=True)
    content = models.TextField(_("what happened"))
    need = models.ForeignKey(
        Need, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("collaboration note")
        indexes = [models.Index(fields=["customer", "created_at"], name="collab_note_idx")]

    def __str__(self) -> str:
        return self.content[:40]


class DisputeKind(models.TextChoices):
    POSSIBLE_CONFIRMED = "possible_confirmed", _("Possible duplicate registered anyway")
    OWNERSHIP_REQUEST = "ownership_request", _("Request for an owned customer")


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class Resolution(models.TextChoices):
    KEEP = "keep", _("Keep the owner")
    TRANSFER = "transfer", _("Transfer to the claimant")
    MERGE = "merge", _("Merge the two records")


class Dispute(models.Model):
    """撞单申诉: two reps and one company. A manager decides, with a reason (MISSION §3)."""

    kind = models.CharField(max_length=20, choices=DisputeKind.choices)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="disputes")
    # The record the claimant registered after confirming a possible duplicate, if any.
    other_customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    claimant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    owner_at_opening = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    reason = models.TextField(_("reason"), blank=True)
    evidence = models.TextField(blank=True)  # the matcher's reasons, when it opened the case
    status = models.CharField(
        max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    opened_at = models.DateTimeField()
    resolution = models.CharField(max_length=10, choices=Resolution.choices, blank=True)
    resolution_reason = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        indexes = [models.Index(fields=["status", "opened_at"], name="dispute_queue_idx")]
        constraints = [
            # A rep asks for a customer once at a time.
            models.UniqueConstraint(
                fields=["customer", "claimant"],
                condition=models.Q(status="open", kind="ownership_request"),
                name="dispute_one_open_request",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} ← {self.claimant}"


class CustomerNameGramStat(models.Model):
    """How many names contain each bigram: lets the duplicate check skip common bigrams
    (有限, 科技 …) and start from the rarest, with one indexed read instead of a count each."""

    gram = models.CharField(max_length=2, primary_key=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.gram}: {self.count}"


class FollowUpKind(models.TextChoices):
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    OTHER = "other", _("Other")


class FollowUp(models.Model):
    """跟进: a contact with the customer. A qualifying one restarts the pool clock."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="follow_ups")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("type"), max_length=10, choices=FollowUpKind.choices)
    content = models.TextField(_("content"))
    happened_at = models.DateTimeField(_("when"))
    next_follow_up_on = models.DateField(_("next follow-up"), null=True, blank=True)
    qualifying = models.BooleanField(default=False)  # counted by the pool rules when logged

    class Meta:
        verbose_name = _("follow-up")
        indexes = [models.Index(fields=["customer", "happened_at"], name="follow_up_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=FollowUpKind.values), name="follow_up_kind_known"
            )
        ]

    def __str__(self) -> str:
        return self.content[:40]


class TeamAccess(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Read and write")


class TeamMember(models.Model):
    """A collaborator on a customer besides its owner (the account team, MISSION §3). Sees the
    customer unmasked; with write access logs follow-ups; never transfers or releases it."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="team")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="team_memberships"
    )
    access = models.CharField(_("access"), max_length=5, choices=TeamAccess.choices)
    until = models.DateField(_("until"), null=True, blank=True)  # inclusive; null: no end
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField()

    class Meta:
        verbose_name = _("team member")
        constraints = [
            models.UniqueConstraint(fields=["customer", "user"], name="team_member_once"),
            models.CheckConstraint(
                condition=models.Q(access__in=TeamAccess.values), name="team_access_known"
            ),
        ]
        indexes = [models.Index(fields=["user", "until"], name="team_member_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.customer}"


class OwnershipKind(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    IMPORTED = "imported", _("Imported")
    CLAIMED = "claimed", _("Claimed from the pool")
    ASSIGNED = "assigned", _("Assigned from the pool")
    RELEASED_AUTO = "released_auto", _("Released automatically")
    RELEASED_MANUAL = "released_manual", _("Released by hand")
    TRANSFERRED = "transferred", _("Transferred")
    HANDED_OVER = "handed_over", _("Handed over")
    MERGED = "merged", _("Merged")


RELEASE_KINDS = (OwnershipKind.RELEASED_AUTO, OwnershipKind.RELEASED_MANUAL)


class OwnershipEvent(models.Model):
    """One change of owner, with who did it and the rule or reason (MISSION §4)."""

    # No single-column indexes on the foreign keys: the two indexes below serve every read
    # (a customer's history; a rep's claims today), users are deactivated rather than
    # deleted, and a sweep writes hundreds of thousands of these rows at once.
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="ownership_events", db_index=False
    )
    kind = models.CharField(max_length=20, choices=OwnershipKind.choices)
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        db_index=False,
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        db_index=False,
    )
    actor = models.ForeignKey(  # null: the system (the sweep)
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        db_index=False,
    )
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("ownership event")
        indexes = [
            models.Index(fields=["customer", "at"], name="ownership_customer_idx"),
            models.Index(fields=["to_owner", "kind", "at"], name="ownership_claims_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=OwnershipKind.values), name="ownership_kind_known"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.kind}"


class ContactField(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    WEBSITE = "website", _("Website")
    ADDRESS = "address", _("Address")
    CONTACT_PHONE = "contact_phone", _("Contact's phone")
    CONTACT_EMAIL = "contact_email", _("Contact's email")


class ContactChange(models.Model):
    """A change of a customer's contact data, kept as a fact of its own.

    Contact data changed to the rep's own number or a free-mail address shortly before the
    customer goes quiet is one of the traces diversion leaves (MISSION §9); the audit trail has
    the same change, but this table answers "which customers' contact data did this rep
    change, when, to what" with an index instead of a scan of the chain.
    """

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="contact_changes", db_index=False
    )
    field = models.CharField(_("field"), max_length=16, choices=ContactField.choices)
    # The contact person the value belongs to, for contact_phone / contact_email.
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    old_value = models.CharField(_("before"), max_length=300, blank=True)
    new_value = models.CharField(_("after"), max_length=300, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("contact change")
        indexes = [
            models.Index(fields=["customer", "changed_at"], name="contact_change_customer_idx"),
            models.Index(fields=["changed_by", "changed_at"], name="contact_change_actor_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(field__in=ContactField.values), name="contact_change_field_known"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.field}"
