"""Writes of the field settings: the allowed distance from a customer, the highest believable
speed and the photo's allowed time difference, for the whole company or one department. The
boss sets every level; a manager their own department and the ones below it (as with the pool
rules). Every change is an audit event in the transaction that makes it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record, diff, snapshot
from kedun.core.errors import Forbidden, Invalid
from kedun.org.models import Department, Role, User

from .models import FieldRule

RULE_FIELDS = ["radius_m", "max_speed_kmh", "photo_max_age_minutes"]
# Bounds people can mean (the database's CHECKs hold the lower ones too); the form uses them.
RULE_LIMITS = {
    "radius_m": (10, 100_000),
    "max_speed_kmh": (1, 2_000),
    "photo_max_age_minutes": (1, 10_080),
}


def rule_label(name: str) -> Any:
    field = FieldRule._meta.get_field(name)
    return getattr(field, "verbose_name", name)


def field_settings_editable(*, actor: User, department: Department | None) -> bool:
    if actor.has_role(Role.ADMIN):
        return True
    if department is None or not actor.has_role(Role.MANAGER):
        return False
    return department.path.startswith(actor.department.path)


def _checked(values: Mapping[str, Any]) -> dict[str, int]:
    checked: dict[str, int] = {}
    for name in RULE_FIELDS:
        value = values.get(name)
        low, high = RULE_LIMITS[name]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise Invalid(
                _("%(name)s must be a whole number from %(low)d to %(high)d.")
                % {"name": rule_label(name), "low": low, "high": high},
                detail={name: [str(value)]},
            )
        checked[name] = value
    return checked


def field_rule_set(
    *, actor: User, department: Department | None, values: Mapping[str, Any] | None
) -> FieldRule | None:
    """Set the rule of the company (department None) or of one department; `values` None
    removes the level's own rule (a department follows the level above again, the company
    Kedun's defaults)."""
    if not field_settings_editable(actor=actor, department=department):
        raise Forbidden(_("You cannot change the field rules here."))
    checked = _checked(values) if values is not None else None
    level = {"department": department.pk if department else None}
    with transaction.atomic():
        row = FieldRule.objects.select_for_update().filter(department=department).first()
        before = snapshot(row, RULE_FIELDS) if row else {}
        if checked is None:
            if row is None:
                return None
            row.delete()
            audit_record(
                actor=actor,
                action="field.rule_removed",
                object_type="field.fieldrule",
                object_id=department.pk if department else "company",
                changes={**level, "before": before},
            )
            return None
        row = row or FieldRule(department=department)
        for name, value in checked.items():
            setattr(row, name, value)
        changes = diff(before, snapshot(row, RULE_FIELDS))
        if not changes:
            return row
        row.save()
        audit_record(actor=actor, action="field.rule_set", target=row, changes={**level, **changes})
    return row
