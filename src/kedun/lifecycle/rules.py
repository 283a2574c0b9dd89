"""The pool rules as values: which policy and release terms apply to a customer, and when
it will be released. The sweep (sweep.py) applies the same terms in SQL; the countdown on
every owned customer comes from `release_deadline` here, so the two cannot drift apart."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.utils.translation import gettext as _

from kedun.customers.models import Customer, Stage
from kedun.org.models import Department

from .models import DEFAULT_QUALIFYING_KINDS, PoolPolicy, ReleaseRule

DEAL_STAGES = (Stage.WON, Stage.REPEAT)
# MISSION §4: A-grade customers get twice the time.
DEFAULT_TERMS_BY_GRADE = {"A": (60, 90)}
DEFAULT_TERMS = (30, 90)


def grades() -> list[str]:
    return list(settings.KEDUN_CUSTOMER_GRADES)


@dataclass(frozen=True)
class Policy:
    warn_days: int = 3
    max_held: int = 200
    exclude_won_from_limit: bool = True
    daily_claims: int = 20
    cooldown_days: int = 30
    embargo_hours: int = 24
    order_exempt_days: int = 180
    qualifying_kinds: tuple[str, ...] = tuple(DEFAULT_QUALIFYING_KINDS)
    min_note_length: int = 10

    @classmethod
    def of(cls, row: PoolPolicy) -> Policy:
        return cls(
            warn_days=row.warn_days,
            max_held=row.max_held,
            exclude_won_from_limit=row.exclude_won_from_limit,
            daily_claims=row.daily_claims,
            cooldown_days=row.cooldown_days,
            embargo_hours=row.embargo_hours,
            order_exempt_days=row.order_exempt_days,
            qualifying_kinds=tuple(row.qualifying_kinds),
            min_note_length=row.min_note_length,
        )

    def qualifies(self, kind: str, content: str) -> bool:
        return kind in self.qualifying_kinds and len(content.strip()) >= self.min_note_length


@dataclass(frozen=True)
class Terms:
    no_follow_up_days: int
    no_deal_days: int  # 0: no limit


@dataclass
class RuleBook:
    """Every policy and release rule, read once: a sweep or a page of customers asks it many
    times without a query each."""

    policies: dict[int | None, Policy] = field(default_factory=dict)
    rules: dict[tuple[int | None, str], Terms] = field(default_factory=dict)
    parents: dict[int, int | None] = field(default_factory=dict)

    @classmethod
    def load(cls) -> RuleBook:
        book = cls()
        book.policies = {row.department_id: Policy.of(row) for row in PoolPolicy.objects.all()}
        book.rules = {
            (row.department_id, row.grade): Terms(row.no_follow_up_days, row.no_deal_days)
            for row in ReleaseRule.objects.all()
        }
        book.parents = dict(Department.objects.values_list("pk", "parent_id"))
        return book

    def chain(self, department_id: int | None) -> list[int | None]:
        """The department, its parents up to the top, then the company (None)."""
        found: list[int | None] = []
        while department_id is not None and department_id not in found:
            found.append(department_id)
            department_id = self.parents.get(department_id)
        return [*found, None]

    def policy(self, department_id: int | None) -> Policy:
        for level in self.chain(department_id):
            if level in self.policies:
                return self.policies[level]
        return Policy()

    def terms(self, department_id: int | None, grade: str) -> Terms:
        """The most specific rule wins: the department's for this grade, its rule for any
        grade, then the parent department's …, then the company's, then the defaults."""
        for level in self.chain(department_id):
            for key in ((level, grade), (level, "")) if grade else ((level, ""),):
                if key in self.rules:
                    return self.rules[key]
        return Terms(*DEFAULT_TERMS_BY_GRADE.get(grade, DEFAULT_TERMS))

    @cached_property
    def department_ids(self) -> list[int]:
        return sorted(self.parents)


@dataclass(frozen=True)
class Deadline:
    at: dt.datetime
    reason: str  # "no_follow_up" | "no_deal"
    days: int

    def describe(self) -> str:
        if self.reason == "no_deal":
            return _("%(days)d days owned without a deal") % {"days": self.days}
        return _("%(days)d days without a qualifying follow-up") % {"days": self.days}


def is_exempt(customer: Customer, policy: Policy, now: dt.datetime) -> bool:
    if customer.on_hold:
        return True
    return customer.last_order_at is not None and customer.last_order_at >= now - dt.timedelta(
        days=policy.order_exempt_days
    )


def release_deadline(
    customer: Customer, *, now: dt.datetime, book: RuleBook | None = None
) -> Deadline | None:
    """When the sweep will release this customer if nothing changes; None when it will not
    (in the pool, merged, on hold, or with a recent order)."""
    if customer.owner_id is None or customer.merged_into_id is not None:
        return None
    book = book or RuleBook.load()
    department_id = customer.owner.department_id if customer.owner else None
    policy = book.policy(department_id)
    if is_exempt(customer, policy, now):
        return None
    terms = book.terms(department_id, customer.grade)
    owned_since = customer.owned_since or customer.registered_at
    base = max(owned_since, customer.last_follow_up_at or owned_since)
    deadline = Deadline(
        base + dt.timedelta(days=terms.no_follow_up_days), "no_follow_up", terms.no_follow_up_days
    )
    has_deal = customer.stage in DEAL_STAGES or customer.last_order_at is not None
    if terms.no_deal_days and not has_deal:
        no_deal = owned_since + dt.timedelta(days=terms.no_deal_days)
        if no_deal < deadline.at:
            deadline = Deadline(no_deal, "no_deal", terms.no_deal_days)
    return deadline
