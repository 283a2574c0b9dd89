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
from django.db.models import CharField, Count, Q, Value
from django.db.models.expressions import Case, When
from django.urls import reverse
from django.utils.translation import gettext as _

from kedun.audit.services import audit_record
from kedun.core import clock
from kedun.core.db import bulk_write_mode, insert_values
from kedun.customers.models import Customer, OwnershipEvent, OwnershipKind
from kedun.notifications.services import notify
from kedun.org.models import User

from .rules import DEAL_STAGES, Policy, RuleBook, Terms, grades

# Customers examined per transaction (an owner is never split). Large on purpose: a rep's
# customers lie all over the table, so a batch dirties pages everywhere, and each commit
# writes its pages again — at 1M customers 20k-row batches spent 12 s of a 45 s sweep in
# commits, 100k-row batches 2 s of 24 s. SQLite's write lock is held a few seconds per batch.
ROWS_PER_BATCH = 100_000
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
    plan = Plan.of(groups(RuleBook.load()), now)
    with bulk_write_mode():
        for owners in owner_batches(rows_per_batch):
            with transaction.atomic():
                _sweep_batch(owners, plan, now, dry_run, result)
            result.batches += 1
    result.in_pool = Customer.objects.filter(owner__isnull=True, merged_into__isnull=True).count()
    result.seconds = time.perf_counter() - started
    return result


@dataclass(frozen=True)
class Plan:
    """Every group's conditions combined, so that a batch is read once for its releases and
    once for its warnings, whatever the number of rule groups."""

    release: Q  # due now and not exempt
    warn: Q  # due within the warning days, not due now, not exempt, not yet warned
    rule: Case  # for a released row: the rule that released it

    @classmethod
    def of(cls, rule_groups: list[Group], now: dt.datetime) -> Plan:
        release = warn = Q(pk__in=[])
        whens = []
        for group in rule_groups:
            live = group.where & ~group.exempt(now)
            release |= live & group.due(now)
            horizon = now + dt.timedelta(days=group.policy.warn_days)
            warn |= live & group.due(horizon) & ~group.due(now)
            silent_since = now - dt.timedelta(days=group.terms.no_follow_up_days)
            whens.append(
                When(
                    group.where
                    & Q(owned_since__lt=silent_since)
                    & (Q(last_follow_up_at__isnull=True) | Q(last_follow_up_at__lt=silent_since)),
                    then=Value(f"no_follow_up:{group.terms.no_follow_up_days}"),
                )
            )
            whens.append(When(group.where, then=Value(f"no_deal:{group.terms.no_deal_days}")))
        rule = Case(*whens, default=Value(""), output_field=CharField())
        return cls(release, warn & Q(release_warned_at__isnull=True), rule)


def _sweep_batch(
    owners: list[int], plan: Plan, now: dt.datetime, dry_run: bool, result: SweepResult
) -> None:
    # No "not merged" condition: a merged record has no owner. (With it SQLite walked the
    # merged_into index — every row — instead of the owner index: 50 s a sweep at 1M.)
    batch = Customer.objects.filter(owner_id__in=owners)
    if dry_run:
        result.released += batch.filter(plan.release).count()
        result.warned += batch.filter(plan.warn).count()
        return
    # One read of the batch for both: the rule for a row to release, "" for a row to warn.
    # Plain ints and strings (no datetime conversions); locked on PostgreSQL.
    found = batch.filter(plan.release | plan.warn).annotate(
        rule=Case(When(plan.release, then=plan.rule), default=Value(""))
    )
    if connection.vendor == "postgresql":
        found = found.select_for_update(of=("self",))
    rows = list(found.values_list("pk", "owner_id", "rule", "name"))
    release = [row for row in rows if row[2]]
    warn = [row for row in rows if not row[2]]
    released = _release(release, now, result)
    warned = _warn(warn, now, result)
    _tell_owners(released, warned)


def _release(rows: list[tuple], now: dt.datetime, result: SweepResult) -> dict[int, list[str]]:
    if not rows:
        return {}
    at = connection.ops.adapt_datetimefield_value(now)
    insert_values(
        OwnershipEvent._meta.db_table,
        ("customer_id", "kind", "from_owner_id", "to_owner_id", "actor_id", "reason", "at"),
        [(pk, RELEASED_AUTO, owner_id, None, None, rule, at) for pk, owner_id, rule, _n in rows],
    )
    users = connection.ops.quote_name(User._meta.db_table)
    table = connection.ops.quote_name(Customer._meta.db_table)
    changed = _update_each(
        # The pool department is the old owner's: every SET reads the row as it was.
        f"pool_department_id = (SELECT department_id FROM {users} WHERE id = {table}.owner_id), "
        "owner_id = NULL, owned_since = NULL, release_warned_at = NULL, "
        "next_follow_up_on = NULL, pool_entered_at = %s",
        [at],
        [(pk, owner_id) for pk, owner_id, _r, _n in rows],
    )
    if changed != len(rows):  # cannot happen under the locks; never commit events that lie
        raise RuntimeError(f"sweep: {len(rows)} customers read but {changed} released")
    by_owner: dict[int, list[str]] = defaultdict(list)
    for _pk, owner_id, rule, name in rows:
        result.by_reason[rule] = result.by_reason.get(rule, 0) + 1
        by_owner[owner_id].append(name)
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
    return by_owner


def _warn(rows: list[tuple], now: dt.datetime, result: SweepResult) -> dict[int, list[str]]:
    if not rows:
        return {}
    at = connection.ops.adapt_datetimefield_value(now)
    changed = _update_each(
        "release_warned_at = %s", [at], [(pk, owner_id) for pk, owner_id, _r, _n in rows]
    )
    if changed != len(rows):
        raise RuntimeError(f"sweep: {len(rows)} customers read but {changed} warned")
    result.warned += len(rows)
    by_owner: dict[int, list[str]] = defaultdict(list)
    for _pk, owner_id, _rule, name in rows:
        by_owner[owner_id].append(name)
    return by_owner


def _update_each(assignments: str, params: list, rows: list[tuple[int, int]]) -> int:
    """UPDATE customers SET <assignments> (with `params`) for each (id, owner) row.

    The owner in the WHERE guards against a row that changed hands since it was read. SQLite
    runs the prepared statement per row in C (faster than any IN list it would have to parse
    and sort); PostgreSQL gets the rows as two arrays in one statement."""
    table = connection.ops.quote_name(Customer._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Tens of thousands of ids make the planner hash the whole customer table (a
            # sequential scan of a million rows per batch: 20 s of a 34 s sweep); the rows
            # are found through the primary key instead when random reads cost what they do
            # on SSDs and in cache. For this transaction only.
            cursor.execute("SET LOCAL random_page_cost = 1.1")
            # Arrays as text literals: psycopg's per-element adaptation of 100,000 ints
            # cost more than the statement.
            ids = "{" + ",".join(str(pk) for pk, _owner in rows) + "}"
            owners = "{" + ",".join(str(owner) for _pk, owner in rows) + "}"
            cursor.execute(
                f"UPDATE {table} SET {assignments} "
                "FROM unnest(%s::bigint[], %s::bigint[]) AS u(id, owner) "
                f"WHERE {table}.id = u.id AND {table}.owner_id = u.owner",
                [*params, ids, owners],
            )
            return cursor.rowcount
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE id = %s AND owner_id = %s",
            [(*params, pk, owner) for pk, owner in rows],
        )
        return cursor.rowcount


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
