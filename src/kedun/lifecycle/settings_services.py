"""Writes of the pool settings (MISSION §4): the policy and the release rules, for the whole
company or for one department. The boss sets everything; a manager sets the departments of
their own branch. Every change is an audit event in the transaction that makes it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record, diff, snapshot
from kedun.core import clock
from kedun.core.errors import Forbidden, Invalid
from kedun.customers.models import FollowUpKind
from kedun.org.models import Department, Role, User

from .models import PoolPolicy, ReleaseRule
from .rules import grades

POLICY_FIELDS = [
    "warn_days",
    "max_held",
    "exclude_won_from_limit",
    "daily_claims",
    "cooldown_days",
    "embargo_hours",
    "order_exempt_days",
    "qualifying_kinds",
    "min_note_length",
]
# Bounds people can mean; the forms use the same numbers so the page says it first.
POLICY_LIMITS = {
    "warn_days": (0, 60),
    "max_held": (1, 100_000),
    "daily_claims": (0, 1_000),
    "cooldown_days": (0, 365),
    "embargo_hours": (0, 720),
    "order_exempt_days": (0, 3_650),
    "min_note_length": (0, 1_000),
}
NO_FOLLOW_UP_DAYS = (1, 3_650)
NO_DEAL_DAYS = (0, 3_650)  # 0: no limit


def policy_label(name: str) -> Any:
    """The (lazily translated) name of a policy setting, as the model calls it."""
    field = PoolPolicy._meta.get_field(name)
    return getattr(field, "verbose_name", name)


def pool_settings_editable(*, actor: User, department: Department | None) -> bool:
    """The boss: everything. A manager: their own department and the ones below it."""
    if actor.has_role(Role.ADMIN):
        return True
    if department is None or not actor.has_role(Role.MANAGER):
        return False
    return department.path.startswith(actor.department.path)


def _check_editable(actor: User, department: Department | None) -> None:
    if not pool_settings_editable(actor=actor, department=department):
        raise Forbidden(_("You cannot change the pool rules here."))


def _level(department: Department | None) -> dict[str, Any]:
    return {"department": department.pk if department else None}


def _checked_policy(values: Mapping[str, Any]) -> dict[str, Any]:
    missing = [name for name in POLICY_FIELDS if name not in values]
    if missing:
        raise Invalid(_("Missing settings: %(names)s.") % {"names": ", ".join(missing)})
    checked = {name: values[name] for name in POLICY_FIELDS}
    for name, (low, high) in POLICY_LIMITS.items():
        value = checked[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise Invalid(
                _("%(name)s must be a whole number from %(low)d to %(high)d.")
                % {"name": policy_label(name), "low": low, "high": high}
            )
    kinds = list(dict.fromkeys(checked["qualifying_kinds"] or []))
    if not kinds or any(kind not in FollowUpKind.values for kind in kinds):
        raise Invalid(_("Choose at least one follow-up type that counts."))
    checked["qualifying_kinds"] = kinds
    checked["exclude_won_from_limit"] = bool(checked["exclude_won_from_limit"])
    return checked


def pool_policy_set(
    *, actor: User, department: Department | None, values: Mapping[str, Any] | None
) -> PoolPolicy | None:
    """Set the policy of the company (department None) or of one department. `values` None
    removes the level's own policy: a department inherits again, the company gets the
    defaults."""
    _check_editable(actor, department)
    checked = _checked_policy(values) if values is not None else None
    with transaction.atomic():
        row = PoolPolicy.objects.select_for_update().filter(department=department).first()
        before = snapshot(row, POLICY_FIELDS) if row else {}
        if checked is None:
            if row is None:
                return None
            row.delete()
            audit_record(
                actor=actor,
                action="pool.policy_removed",
                object_type="lifecycle.poolpolicy",
                object_id=department.pk if department else "company",
                changes={**_level(department), "before": before},
            )
            return None
        if row is None:
            row = PoolPolicy(department=department)
        for name, value in checked.items():
            setattr(row, name, value)
        changes = diff(before, snapshot(row, POLICY_FIELDS))
        if not changes:
            return row
        row.updated_by = actor
        row.updated_at = clock.now()
        row.save()
        audit_record(
            actor=actor,
            action="pool.policy_set",
            target=row,
            changes={**_level(department), **changes},
        )
    return row


def _checked_terms(
    terms: Mapping[str, tuple[int, int] | None],
) -> dict[str, tuple[int, int] | None]:
    known = ["", *grades()]
    checked: dict[str, tuple[int, int] | None] = {}
    for grade, value in terms.items():
        if grade not in known:
            raise Invalid(_("Unknown grade: %(grade)s.") % {"grade": grade})
        if value is not None:
            no_follow_up, no_deal = value
            if not NO_FOLLOW_UP_DAYS[0] <= no_follow_up <= NO_FOLLOW_UP_DAYS[1]:
                raise Invalid(
                    _("Days without a follow-up must be from %(low)d to %(high)d.")
                    % {"low": NO_FOLLOW_UP_DAYS[0], "high": NO_FOLLOW_UP_DAYS[1]}
                )
            if not NO_DEAL_DAYS[0] <= no_deal <= NO_DEAL_DAYS[1]:
                raise Invalid(
                    _("Days without a deal must be from %(low)d to %(high)d (0: no limit).")
                    % {"low": NO_DEAL_DAYS[0], "high": NO_DEAL_DAYS[1]}
                )
        checked[grade] = value
    return checked


def release_rules_set(
    *,
    actor: User,
    department: Department | None,
    terms: Mapping[str, tuple[int, int] | None],
) -> dict[str, list[Any]]:
    """Set the release terms (days without a follow-up, days without a deal) per grade ("" is
    any grade) at one level; None removes the level's rule for that grade, which then falls
    back to the next level up. Returns what changed, {grade: [before, after]}."""
    _check_editable(actor, department)
    checked = _checked_terms(terms)
    changes: dict[str, list[Any]] = {}
    with transaction.atomic():
        rows = {
            row.grade: row
            for row in ReleaseRule.objects.select_for_update().filter(
                department=department, grade__in=list(checked)
            )
        }
        now = clock.now()
        for grade, value in checked.items():
            row = rows.get(grade)
            before = [row.no_follow_up_days, row.no_deal_days] if row else None
            after = list(value) if value is not None else None
            if before == after:
                continue
            if row is not None and value is None:
                row.delete()
            elif value is not None:
                row = row or ReleaseRule(department=department, grade=grade)
                row.no_follow_up_days, row.no_deal_days = value
                row.updated_by = actor
                row.updated_at = now
                row.save()
            changes[grade or "*"] = [before, after]
        if changes:
            audit_record(
                actor=actor,
                action="pool.release_rules_set",
                object_type="lifecycle.releaserule",
                object_id=department.pk if department else "company",
                changes={**_level(department), **changes},
            )
    return changes
