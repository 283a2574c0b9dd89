"""Diversion insights (飞单痕迹, MISSION §9): the traces, their evidence, and what managers did
with them. Computed from Kedun's own records, so imported history and what Kedun records
itself are read the same way. Never an automatic penalty: a finding is a question with its
evidence; a case file is a manager's own record of looking into it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ActivityWeek(models.Model):
    """One rep's dealings with one customer in one week (Monday, local time): the dense time
    series the business signals read, kept up to date incrementally by the nightly run instead
    of re-reading every follow-up, quote and order each time."""

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    week = models.DateField()
    follow_ups = models.PositiveIntegerField(default=0)
    check_ins = models.PositiveIntegerField(default=0)
    mails = models.PositiveIntegerField(default=0)  # mail the rep sent linked to the customer
    quotes = models.PositiveIntegerField(default=0)
    lost = models.PositiveIntegerField(default=0)
    lost_competitor = models.PositiveIntegerField(default=0)  # lost to a named competitor
    orders = models.PositiveIntegerField(default=0)
    order_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "rep", "week"], name="activity_week_once")
        ]
        indexes = [models.Index(fields=["week"], name="activity_week_idx")]

    def __str__(self) -> str:
        return f"{self.rep_id}/{self.customer_id} {self.week}"


class RunMode(models.TextChoices):
    FULL = "full", _("Full")
    INCREMENTAL = "incremental", _("Incremental")


class RiskRun(models.Model):
    """One computation of the risk view, using everything up to the end of `as_of`."""

    as_of = models.DateField(_("as of"))
    mode = models.CharField(max_length=12, choices=RunMode.choices)
    started_at = models.DateTimeField()
    seconds = models.FloatField(default=0)
    # The activity table is complete up to this week (Monday) for incremental runs.
    reps = models.PositiveIntegerField(default=0)
    findings = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("risk run")
        indexes = [models.Index(fields=["as_of", "started_at"], name="risk_run_idx")]

    def __str__(self) -> str:
        return f"{self.as_of} ({self.mode})"


class RepRisk(models.Model):
    run = models.ForeignKey(RiskRun, on_delete=models.CASCADE, related_name="reps_at_risk")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField(_("score"))
    rank = models.PositiveIntegerField(_("rank"))
    customers = models.PositiveIntegerField(default=0)  # customers with agreeing evidence

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "rep"], name="rep_risk_once")]
        indexes = [models.Index(fields=["run", "rank"], name="rep_risk_rank_idx")]

    def __str__(self) -> str:
        return f"{self.rep_id}: {self.score:.2f}"


class Family(models.TextChoices):
    """Independent kinds of evidence: a customer counts only when two families agree."""

    BUSINESS = "business", _("Business with the customer")
    CONTACT = "contact", _("Contact with the customer")
    REDIRECT = "redirect", _("Contact data redirected")
    MONEY = "money", _("Payments and deliveries")
    MAIL = "mail", _("Mail")
    FIELD = "field", _("Field visits")
    ACCESS = "access", _("Access to customer data")
    PATTERN = "pattern", _("Across many customers at once")


class Finding(models.Model):
    """One trace with its evidence. `facts` holds the figures, dates and record ids the
    sentence is built from in the reader's language (insights/wording.py)."""

    run = models.ForeignKey(RiskRun, on_delete=models.CASCADE, related_name="all_findings")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30)
    family = models.CharField(max_length=10, choices=Family.choices)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    started_on = models.DateField()
    ended_on = models.DateField()
    strength = models.FloatField()
    # Counted in the score: another family agrees on the same customer at the same time.
    corroborated = models.BooleanField(default=False)
    dismissed = models.BooleanField(default=False)
    facts = models.JSONField(default=dict)

    class Meta:
        indexes = [
            models.Index(fields=["run", "rep"], name="finding_rep_idx"),
            models.Index(fields=["run", "customer"], name="finding_customer_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(strength__gte=0), name="finding_strength_valid"),
            models.CheckConstraint(
                condition=Q(ended_on__gte=models.F("started_on")), name="finding_dates_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rep_id} {self.kind} {self.customer_id or ''}"

    @property
    def key(self) -> str:
        return finding_key(self.kind, self.rep_id, self.customer_id)


def finding_key(kind: str, rep_id: int, customer_id: int | None) -> str:
    return f"{kind}:{rep_id}:{customer_id or ''}"


class Dismissal(models.Model):
    """A manager's judgement that a finding is explained (a known reason, checked). It holds
    for that episode: a finding of the same kind that starts after the dismissal is new."""

    key = models.CharField(max_length=80)
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"))
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    dismissed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["rep", "key"], name="dismissal_key_idx")]

    def __str__(self) -> str:
        return self.key


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Outcome(models.TextChoices):
    NO_ISSUE = "no_issue", _("Explained: no diversion")
    COACHING = "coaching", _("Talked it through")
    WARNING = "warning", _("Warning")
    HR = "hr", _("Handed to HR")
    OTHER = "other", _("Other")


class CaseFile(models.Model):
    """A manager looking into a rep: the evidence frozen when the case was opened (so later
    runs cannot change what HR reads), notes, and the outcome."""

    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField()
    # The run's date and the rep's score and findings, with their sentences as written then.
    evidence = models.JSONField(default=dict)
    status = models.CharField(
        _("status"), max_length=8, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(_("outcome note"), blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("case file")
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", outcome="", closed_at__isnull=True)
                | (Q(status="closed") & ~Q(outcome="") & Q(closed_at__isnull=False)),
                name="case_file_closed_with_outcome",
            )
        ]
        indexes = [models.Index(fields=["rep", "opened_at"], name="case_file_rep_idx")]

    def __str__(self) -> str:
        return self.title


class CaseNote(models.Model):
    case = models.ForeignKey(CaseFile, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("note"))
    written_at = models.DateTimeField()

    class Meta:
        ordering = ["written_at", "pk"]

    def __str__(self) -> str:
        return self.text[:40]
