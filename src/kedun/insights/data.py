"""What one risk computation reads, loaded once: the weekly series per rep and customer from
ActivityWeek, and who is who (reps, customers, their addresses and phones).

Weeks are indexed 0 … n-1 from the first week of the analysis window to the week of `as_of`;
the last week counts only for the days of it that have passed (`exposure`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from kedun.customers.contact_identity import normalize_phones
from kedun.customers.models import Contact, Customer, CustomerDomain
from kedun.org.models import Role, User

from .activity import COUNTS, week_of
from .models import ActivityWeek

# Two years: a customer's own past needs a year before any change to compare with.
WINDOW_WEEKS = 104


@dataclass
class Series:
    """Weekly counts of one rep with one customer (or one customer, or the company)."""

    n: int
    follow_ups: list[float] = field(default_factory=list)
    check_ins: list[float] = field(default_factory=list)
    mails: list[float] = field(default_factory=list)
    quotes: list[float] = field(default_factory=list)
    lost: list[float] = field(default_factory=list)
    lost_competitor: list[float] = field(default_factory=list)
    orders: list[float] = field(default_factory=list)
    order_amount: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in (*COUNTS, "order_amount"):
            if not getattr(self, name):
                setattr(self, name, [0.0] * self.n)

    def contact(self) -> list[float]:
        """Follow-ups, check-ins and mail: every way a rep works an account."""
        return [
            a + b + c for a, b, c in zip(self.follow_ups, self.check_ins, self.mails, strict=True)
        ]


@dataclass(frozen=True)
class Rep:
    id: int
    username: str
    name: str
    phones: frozenset[str]
    emails: frozenset[str]
    active: bool
    deactivated_on: dt.date | None
    department_id: int


@dataclass(frozen=True)
class CustomerInfo:
    id: int
    code: str
    name: str
    owner_id: int | None
    domains: frozenset[str]
    emails: frozenset[str]


@dataclass
class AnalysisData:
    as_of: dt.date
    first_week: dt.date
    n_weeks: int
    exposure: list[float]
    reps: dict[int, Rep]
    customers: dict[int, CustomerInfo]
    by_pair: dict[tuple[int, int], Series]  # (rep, customer)
    by_customer: dict[int, Series]
    company: Series
    # Where each customer's activity starts (its first week with any record).
    first_active: dict[int, int]

    def week_index(self, day: dt.date) -> int:
        return (week_of(day) - self.first_week).days // 7

    def week_start(self, index: int) -> dt.date:
        return self.first_week + dt.timedelta(weeks=index)

    def customer_code(self, customer_id: int) -> str:
        info = self.customers.get(customer_id)
        return info.code if info else str(customer_id)


def analysis_data_load(as_of: dt.date) -> AnalysisData:
    last_week = week_of(as_of)
    first_week = last_week - dt.timedelta(weeks=WINDOW_WEEKS - 1)
    n = WINDOW_WEEKS
    exposure = [1.0] * n
    exposure[-1] = ((as_of - last_week).days + 1) / 7
    by_pair: dict[tuple[int, int], Series] = {}
    by_customer: dict[int, Series] = {}
    company = Series(n)
    first_active: dict[int, int] = {}
    columns = (*COUNTS, "order_amount")
    rows = ActivityWeek.objects.filter(week__gte=first_week, week__lte=last_week).values_list(
        "rep_id", "customer_id", "week", *columns
    )
    # The series' lists, looked up once per pair and customer: this loop reads every
    # activity row of the window (a hot path of the nightly run).
    pair_columns: dict[tuple[int, int], list[list[float]]] = {}
    customer_columns: dict[int, list[list[float]]] = {}
    company_columns = [getattr(company, name) for name in columns]
    for rep_id, customer_id, week, *values in rows:
        index = (week - first_week).days // 7
        own = pair_columns.get((rep_id, customer_id))
        if own is None:
            pair = by_pair[(rep_id, customer_id)] = Series(n)
            own = pair_columns[(rep_id, customer_id)] = [getattr(pair, c) for c in columns]
        theirs = customer_columns.get(customer_id)
        if theirs is None:
            customer = by_customer[customer_id] = Series(n)
            theirs = customer_columns[customer_id] = [getattr(customer, c) for c in columns]
        for column, value in enumerate(values):
            if value:
                number = float(value)
                own[column][index] += number
                theirs[column][index] += number
                company_columns[column][index] += number
        if customer_id not in first_active or index < first_active[customer_id]:
            first_active[customer_id] = index
    reps = _reps_load()
    customers = customers_info_load(set(by_customer))
    return AnalysisData(
        as_of=as_of,
        first_week=first_week,
        n_weeks=n,
        exposure=exposure,
        reps=reps,
        customers=customers,
        by_pair=by_pair,
        by_customer=by_customer,
        company=company,
        first_active=first_active,
    )


def _reps_load() -> dict[int, Rep]:
    reps = {}
    for (
        pk,
        username,
        full_name,
        phone,
        email,
        active,
        deactivated_at,
        department_id,
    ) in User.objects.filter(role__in=(Role.SALES, Role.MANAGER)).values_list(
        "pk",
        "username",
        "full_name",
        "phone",
        "email",
        "is_active",
        "deactivated_at",
        "department_id",
    ):
        reps[pk] = Rep(
            id=pk,
            username=username,
            name=full_name,
            phones=frozenset(normalize_phones(phone)) if phone else frozenset(),
            emails=frozenset({email.strip().lower()}) if email else frozenset(),
            active=active,
            deactivated_on=deactivated_at.date() if deactivated_at else None,
            department_id=department_id,
        )
    return reps


def customers_info_load(ids: set[int]) -> dict[int, CustomerInfo]:
    domains: dict[int, set[str]] = defaultdict(set)
    for customer_id, domain in CustomerDomain.objects.filter(customer_id__in=ids).values_list(
        "customer_id", "domain"
    ):
        domains[customer_id].add(domain.lower())
    emails: dict[int, set[str]] = defaultdict(set)
    for customer_id, email in (
        Contact.objects.filter(customer_id__in=ids)
        .exclude(email="")
        .values_list("customer_id", "email")
    ):
        emails[customer_id].add(email.strip().lower())
    customers = {}
    for pk, code, name, owner_id, email in Customer.objects.filter(pk__in=ids).values_list(
        "pk", "code", "name", "owner_id", "email"
    ):
        if email:
            emails[pk].add(email.strip().lower())
        customers[pk] = CustomerInfo(
            id=pk,
            code=code,
            name=name,
            owner_id=owner_id,
            domains=frozenset(domains[pk]),
            emails=frozenset(emails[pk]),
        )
    return customers
