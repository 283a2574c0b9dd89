"""Pool settings (MISSION §4). No row means the defaults; a row overrides them for a
department (and everything below it) or, with department null, for the whole company."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

DEFAULT_QUALIFYING_KINDS = ["call", "visit", "meeting", "email"]


def default_qualifying_kinds() -> list[str]:
    return list(DEFAULT_QUALIFYING_KINDS)


class PoolPolicy(models.Model):
    """What applies to a department's reps: warnings, limits, cooldown, what counts."""

    department = models.OneToOneField(
        "org.Department", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    warn_days = models.PositiveSmallIntegerField(_("warn days before release"), default=3)
    max_held = models.PositiveIntegerField(_("most customers held per rep"), default=200)
    exclude_won_from_limit = models.BooleanField(
        _("won customers do not count towards the limit"), default=True
    )
    daily_claims = models.PositiveSmallIntegerField(_("claims per rep per day"), default=20)
    cooldown_days = models.PositiveSmallIntegerField(
        _("days before the previous owner may reclaim"), default=30
    )
    embargo_hours = models.PositiveSmallIntegerField(
        _("hours nobody may claim after a release"), default=24
    )
    order_exempt_days = models.PositiveSmallIntegerField(
        _("an order in the last N days exempts"), default=180
    )
    qualifying_kinds = models.JSONField(
        _("follow-up types that count"), default=default_qualifying_kinds
    )
    min_note_length = models.PositiveSmallIntegerField(
        _("shortest follow-up that counts (characters)"), default=10
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("pool policy")
        constraints = [
            models.UniqueConstraint(
                fields=["department"],
                condition=Q(department__isnull=True),
                name="pool_policy_one_company_default",
            ),
        ]

    def __str__(self) -> str:
        return f"policy {self.department_id or 'company'}"


class ReleaseRule(models.Model):
    """When an owned customer goes back to the pool, per department and grade ("" = any)."""

    department = models.ForeignKey(
        "org.Department", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    grade = models.CharField(_("grade"), max_length=8, blank=True)
    no_follow_up_days = models.PositiveSmallIntegerField(
        _("days without a qualifying follow-up"), default=30
    )
    # 0: no limit.
    no_deal_days = models.PositiveSmallIntegerField(_("days owned without a deal"), default=90)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("release rule")
        constraints = [
            models.UniqueConstraint(
                fields=["department", "grade"],
                name="release_rule_once",
            ),
            models.UniqueConstraint(
                fields=["grade"],
                condition=Q(department__isnull=True),
                name="release_rule_once_company",
            ),
            models.CheckConstraint(
                condition=Q(no_follow_up_days__gte=1), name="release_rule_days_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"rule {self.department_id or 'company'}/{self.grade or '*'}"
