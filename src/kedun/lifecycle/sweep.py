"""The pool sweep (MISSION §4): release owned customers the rules say are neglected, and warn
owners K days before.

Set-based: each rule group is a WHERE clause, applied to the customers of a batch of owners
in one transaction (select for update, one UPDATE per department, events and the audit event
in bulk). Idempotent and crash-safe: a batch commits whole or not at all, and a released or
warned customer no longer matches, so a rerun after a kill does exactly what is left.
Concurrent sweeps are safe for the same reason (PostgreSQL re-checks the WHERE of a row it
waited for; SQLite runs one writer at a time).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import CharField, Count, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.expressions import Case, When
from django.urls import reverse
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.customers.identity_index import insert_values
from kedun.customers.models import Customer, OwnershipEvent, OwnershipKind
from kedun.notifications.services import notify
from kedun.org.models import User

from .rules import DEAL_STAGES, Policy, RuleBook, Terms, grades

ROWS_PER_BATCH = 20_000  # customers examined per transaction (owners are never split)
RELEASED_AUTO = OwnershipKind.RELEASED_AUTO.value


@dataclass(frozen=True)
class Group:
    """Customers under one set of terms and one policy, as a WHERE clause."""

    terms: Terms
    policy: Policy
    where: Q

    def due(self, moment: dt.datetime) -> Q:
        """Would be released at `moment`: the deadline (see rules.release_deadline) is before."""
        silent_since = moment - dt.timedelta(days=self.terms.no_follow_up_days)
        due = Q(owned_since__lt=silent_since) & (
            Q(last_follow_up_at__isnull=True) | Q(last_follow_up_at__lt=silent_since)
        )
        if self.terms.no_deal_days:
            due |= (
                Q(owned_since__lt=moment - dt.timedelta(days=self.terms.no_deal_days))
                & Q(last_order_at__isnull=True)
                & ~Q(stage__in=DEAL_STAGES)
            )
        return due

    def exempt(self, now: dt.datetime) -> Q:
        return Q(on_hold=True) | Q(
            last_order_at__gte=now - dt.timedelta(days=self.policy.order_exempt_days)
        )


def groups(book: RuleBook) -> list[Group]:
    """One group per distinct (terms, policy); each lists the departments and grades it covers."""
    known = grades()
    covered: dict[tuple[Terms, Policy], dict[str | None, list[int]]] = defaultdict(
        lambda: defaultdict(list)
    )
    departments = book.department_ids
    for department in departments:
        policy = book.policy(department)
        for grade in [*known, None]:  # None: any grade not in the list (or none)
            terms = book.terms(department, grade or "")
            covered[(terms, policy)][grade].append(department)
    found = []
    for (terms, policy), by_grade in covered.items():
        where = Q(pk__in=[])
        for grade, in_departments in by_grade.items():
            clause = Q(grade=grade) if grade is not None else ~Q(grade__in=known)
            if len(in_departments) < len(departments):
                clause &= Q(owner__department_id__in=in_departments)
            where |= clause
        found.append(Group(terms, policy, where))
    return found


@dataclass
class SweepResult:
    now: dt.datetime
    dry_run: bool
    released: int = 0
    warned: int = 0
    in_pool: int = 0
    batches: int = 0
    seconds: float = 0.0
    by_reason: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "released": self.released,
            "warned": self.warned,
            "in_pool": self.in_pool,
            "by_reason": self.by_reason,
            "batches": self.batches,
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 2),
        }


def owner_batches(rows_per_batch: int) -> list[list[int]]:
    """Owners in batches of about `rows_per_batch` customers (one owner is never split, so
    a rep's notification covers all their customers)."""
    counts = (
        Customer.objects.filter(owner__isnull=False)
        .values_list("owner_id")
        .annotate(n=Count("id"))
        .order_by("owner_id")
    )
    batches: list[list[int]] = [[]]
    size = 0
    for owner_id, n in counts:
        if batches[-1] and size + n > rows_per_batch:
            batches.append([])
            size = 0
        batches[-1].append(owner_id)
        size += n
    return [b for b in batches if b]


def pool_sweep(
    *, now: dt.datetime | None = None, dry_run: bool = False, rows_per_batch: int = ROWS_PER_BATCH
) -> SweepResult:
    started = time.perf_counter()
    now = now or clock.now()
    result = SweepResult(now=now, dry_run=dry_run)
    rule_groups = groups(RuleBook.load())
    for owners in owner_batches(rows_per_batch):
        with transaction.atomic():
            _sweep_batch(owners, rule_groups, now, dry_run, result)
        result.batches += 1
    result.in_pool = Customer.objects.filter(owner__isnull=True, merged_into__isnull=True).count()
    result.seconds = time.perf_counter() - started
    return result


def _sweep_batch(
    owners: list[int],
    rule_groups: list[Group],
    now: dt.datetime,
    dry_run: bool,
    result: SweepResult,
) -> None:
    # No "not merged" condition: a merged record has no owner. (With it SQLite walked the
    # merged_into index — every row — instead of the owner index: 50 s a sweep at 1M.)
    batch = Customer.objects.filter(owner_id__in=owners)
    released: dict[int, list[str]] = defaultdict(list)  # owner → customer names
    warned: dict[int, list[str]] = defaultdict(list)
    for group in rule_groups:
        in_group = batch.filter(group.where).exclude(group.exempt(now))
        due = in_group.filter(group.due(now))
        if dry_run:
            result.released += due.count()
            result.warned += _to_warn(in_group, group, now).count()
            continue
        for owner_id, name in _release(due, group, now, result):
            released[owner_id].append(name)
        for owner_id, name in _warn(_to_warn(in_group, group, now), now):
            warned[owner_id].append(name)
            result.warned += 1
    if not dry_run:
        _tell_owners(released, warned)


def _to_warn(in_group: QuerySet[Customer], group: Group, now: dt.datetime) -> QuerySet[Customer]:
    horizon = now + dt.timedelta(days=group.policy.warn_days)
    return in_group.filter(group.due(horizon), release_warned_at__isnull=True).exclude(
        group.due(now)
    )


def _locked_rows(queryset: QuerySet[Customer], *fields: str) -> list[tuple]:
    if connection.vendor == "postgresql":
        queryset = queryset.select_for_update(of=("self",))
    return list(queryset.values_list(*fields))


def _reason_sql(group: Group, now: dt.datetime) -> Case:
    """The rule that releases a customer, computed by the database with the row."""
    silent_since = now - dt.timedelta(days=group.terms.no_follow_up_days)
    return Case(
        When(
            Q(owned_since__lt=silent_since)
            & (Q(last_follow_up_at__isnull=True) | Q(last_follow_up_at__lt=silent_since)),
            then=Value(f"no_follow_up:{group.terms.no_follow_up_days}"),
        ),
        default=Value(f"no_deal:{group.terms.no_deal_days}"),
        output_field=CharField(),
    )


def _release(
    due: QuerySet[Customer], group: Group, now: dt.datetime, result: SweepResult
) -> list[tuple[int, str]]:
    # Read as plain ints and strings (no datetime conversions), locked on PostgreSQL.
    rows = _locked_rows(
        due.annotate(rule=_reason_sql(group, now)), "pk", "owner_id", "rule", "name"
    )
    if not rows:
        return []
    at = connection.ops.adapt_datetimefield_value(now)
    insert_values(
        OwnershipEvent._meta.db_table,
        ("customer_id", "kind", "from_owner_id", "to_owner_id", "actor_id", "reason", "at"),
        [(pk, RELEASED_AUTO, owner_id, None, None, rule, at) for pk, owner_id, rule, _n in rows],
    )
    ids = [pk for pk, _owner, _rule, _name in rows]
    owners_department = User.objects.filter(pk=OuterRef("owner_id")).values("department_id")
    for start in range(0, len(ids), 5000):
        # One statement per chunk; the pool department is read from the old owner in the
        # same UPDATE (every SET sees the row as it was).
        Customer.objects.filter(pk__in=ids[start : start + 5000]).update(
            pool_department_id=Subquery(owners_department),
            owner=None,
            owned_since=None,
            pool_entered_at=now,
            release_warned_at=None,
        )
    for _pk, _owner, rule, _name in rows:
        result.by_reason[rule] = result.by_reason.get(rule, 0) + 1
    audit_record(
        actor=None,
        actor_label="pool-sweep",
        action="customer.released_auto",
        object_type="customers.customer",
        changes={
            "at": now.isoformat(),
            "released": [[pk, owner_id, rule] for pk, owner_id, rule, _n in rows],
        },
    )
    result.released += len(rows)
    return [(owner_id, name) for _pk, owner_id, _rule, name in rows]


def _warn(to_warn: QuerySet[Customer], now: dt.datetime) -> list[tuple[int, str]]:
    rows = _locked_rows(to_warn, "pk", "owner_id", "name")
    ids = [pk for pk, _owner, _name in rows]
    for start in range(0, len(ids), 5000):
        Customer.objects.filter(pk__in=ids[start : start + 5000]).update(release_warned_at=now)
    return [(owner_id, name) for _pk, owner_id, name in rows]


def _tell_owners(released: dict[int, list[str]], warned: dict[int, list[str]]) -> None:
    users = User.objects.in_bulk(set(released) | set(warned))
    pool_url, mine_url = reverse("pool"), reverse("my-customers")
    for owner_id, names in released.items():
        notify(
            recipients=[users.get(owner_id)],
            kind="pool_released",
            title=_("%(count)d of your customers went back to the pool") % {"count": len(names)},
            body=_list(names),
            url=pool_url,
        )
    for owner_id, names in warned.items():
        notify(
            recipients=[users.get(owner_id)],
            kind="pool_warning",
            title=_("%(count)d of your customers will go back to the pool soon: follow up")
            % {"count": len(names)},
            body=_list(names),
            url=mine_url,
        )


def _list(names: list[str]) -> str:
    shown = "、".join(sorted(names)[:10])
    return shown + ("…" if len(names) > 10 else "")
