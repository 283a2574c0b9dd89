"""Daily budgets on opening other people's customers and revealing masked contact data
(MISSION §8), and leaver mode: a user about to leave, watched more closely until the handover.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class BudgetKind(models.TextChoices):
    VIEW = "view", _("Customers opened")
    REVEAL = "reveal", _("Contact data revealed")


class DailyBudget(models.Model):
    """One row per user per day: what was spent and what may be spent.

    The limits are copied in when the day's row is made (from the role's setting, cut for a
    leaver) and raised by a manager's grant, so that spending is one conditional UPDATE that
    needs nothing else (services.budget_spend). A null limit: no limit for that role.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    views = models.PositiveIntegerField(_("customers opened"), default=0)
    view_limit = models.PositiveIntegerField(_("customers allowed"), null=True, blank=True)
    reveals = models.PositiveIntegerField(_("reveals"), default=0)
    reveal_limit = models.PositiveIntegerField(_("reveals allowed"), null=True, blank=True)
    # The manager was told the budget is nearly used up (once per kind per day).
    views_warned_at = models.DateTimeField(null=True, blank=True)
    reveals_warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("daily budget")
        constraints = [
            models.UniqueConstraint(fields=["user", "day"], name="daily_budget_user_day"),
            # The database itself refuses a count past its limit: no race can spend more.
            models.CheckConstraint(
                condition=Q(view_limit__isnull=True) | Q(views__lte=F("view_limit")),
                name="daily_budget_views_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(reveal_limit__isnull=True) | Q(reveals__lte=F("reveal_limit")),
                name="daily_budget_reveals_within_limit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}: {self.views}/{self.view_limit}"


class BudgetGrant(models.Model):
    """A manager gave a user more for one day (also an audit event)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=10, choices=BudgetKind.choices)
    extra = models.PositiveIntegerField(_("extra"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_at = models.DateTimeField()

    class Meta:
        verbose_name = _("budget grant")
        indexes = [models.Index(fields=["user", "day"], name="budget_grant_user_day_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=BudgetKind.values), name="budget_grant_kind_known"
            ),
            models.CheckConstraint(condition=Q(extra__gt=0), name="budget_grant_extra_positive"),
            models.CheckConstraint(
                condition=~Q(granted_by=F("user")), name="budget_grant_not_to_oneself"
            ),
        ]

    def __str__(self) -> str:
        return f"+{self.extra} {self.kind} for {self.user_id} on {self.day}"


class Leaver(models.Model):
    """A user marked as leaving: no exports, small budgets, every customer opened reported to
    their manager each morning — until the handover ends it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(_("since"))
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(_("handed over"), null=True, blank=True)
    # The last local day whose views were reported to the manager: the daily job resumes here.
    reported_through = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("leaver")
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(ended_at__isnull=True), name="leaver_one_open_per_user"
            ),
            # Ended by someone, or (ended_by null) by a handover from the command line.
            models.CheckConstraint(
                condition=Q(ended_by__isnull=True) | Q(ended_at__isnull=False),
                name="leaver_ended_by_only_when_ended",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} leaving since {self.started_at:%Y-%m-%d}"
