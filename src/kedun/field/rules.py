"""The field checks' thresholds as values: which rule applies to a rep's department.

As with the pool rules, the most specific department wins: the rep's department, its parents
up to the top, then the company's row (department null), then Kedun's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from kedun.org.models import Department

from .models import FieldRule

DEFAULT_RADIUS_M = 500
DEFAULT_MAX_SPEED_KMH = 120
DEFAULT_PHOTO_MAX_AGE_MINUTES = 10


@dataclass(frozen=True)
class Thresholds:
    radius_m: int = DEFAULT_RADIUS_M
    max_speed_kmh: int = DEFAULT_MAX_SPEED_KMH
    photo_max_age_minutes: int = DEFAULT_PHOTO_MAX_AGE_MINUTES

    @classmethod
    def of(cls, row: FieldRule) -> Thresholds:
        return cls(
            radius_m=row.radius_m,
            max_speed_kmh=row.max_speed_kmh,
            photo_max_age_minutes=row.photo_max_age_minutes,
        )


@dataclass
class FieldRuleBook:
    """Every field rule, read once."""

    rules: dict[int | None, Thresholds] = field(default_factory=dict)
    parents: dict[int, int | None] = field(default_factory=dict)

    @classmethod
    def load(cls) -> FieldRuleBook:
        return cls(
            rules={row.department_id: Thresholds.of(row) for row in FieldRule.objects.all()},
            parents=dict(Department.objects.values_list("pk", "parent_id")),
        )

    def chain(self, department_id: int | None) -> list[int | None]:
        """The department, its parents up to the top, then the company (None)."""
        found: list[int | None] = []
        while department_id is not None and department_id not in found:
            found.append(department_id)
            department_id = self.parents.get(department_id)
        return [*found, None]

    def for_department(self, department_id: int | None) -> Thresholds:
        for level in self.chain(department_id):
            if level in self.rules:
                return self.rules[level]
        return Thresholds()

    def inherited(self, department_id: int | None) -> Thresholds:
        """What applies at a level when it has no rule of its own."""
        for level in self.chain(department_id)[1:] if department_id is not None else []:
            if level in self.rules:
                return self.rules[level]
        return Thresholds()


def thresholds_for(department: Department | None) -> Thresholds:
    """The rule for a rep in `department`, in one query: the materialised path ("/1/4/9/")
    names the department's ancestors."""
    if department is None:
        row = FieldRule.objects.filter(department__isnull=True).first()
        return Thresholds.of(row) if row else Thresholds()
    chain = [int(part) for part in department.path.split("/") if part.isdigit()]
    chain = chain or [department.pk]
    rows = {
        row.department_id: row
        for row in FieldRule.objects.filter(Q(department_id__in=chain) | Q(department__isnull=True))
    }
    for level in [*reversed(chain), None]:
        if level in rows:
            return Thresholds.of(rows[level])
    return Thresholds()
