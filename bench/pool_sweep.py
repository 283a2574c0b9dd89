"""Benchmark: one pool sweep over a million customers with history (issue 4: ≤ 30 s on SQLite
and on PostgreSQL; the load is not counted but reported).

Loads reps in three departments (one with its own release rule) and customers owned for up to
two years: most followed up every few weeks, a share (--neglected, default 30%) not lately,
with grades, won stages, orders and manager holds mixed in. Then times `pool_sweep`
(set-based, batched transactions), a rerun (which must release nothing), and the naive
approach other CRMs ship — a loop over every owned customer computing its deadline and saving
the released ones one by one — on a sample, extrapolated to the whole registry.

    python bench/pool_sweep.py [--customers 1000000] [--naive-sample 20000]
    KEDUN_DATABASE_URL=postgres://… python bench/pool_sweep.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--naive-sample", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument(
        "--neglected",
        type=float,
        default=0.3,
        help="share of customers nobody has followed up lately (the sweep's work)",
    )
    args = parser.parse_args()

    os.environ.setdefault("KEDUN_DATA_DIR", tempfile.mkdtemp(prefix="kedun-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kedun.config.settings")
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from benchsupport import customers_reset
    from kedun.core.db import insert_values
    from kedun.customers.models import Customer, OwnershipKind, Stage
    from kedun.customers.ownership import owner_change
    from kedun.lifecycle.models import ReleaseRule
    from kedun.lifecycle.rules import RuleBook, release_deadline
    from kedun.lifecycle.sweep import pool_sweep
    from kedun.org.models import Department, Role, User

    customers_reset()
    ReleaseRule.objects.all().delete()
    rng = random.Random(20161108)
    now = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.UTC)

    started = time.perf_counter()
    departments = []
    for name in ("华东", "华南", "华北"):
        department, _ = Department.objects.get_or_create(
            name=f"Bench {name}", parent=None, defaults={"created_at": now}
        )
        department.path = f"/{department.pk}/"
        department.save(update_fields=["path"])
        departments.append(department)
    # The south keeps B-grade customers longer: a second rule group in the same sweep.
    ReleaseRule.objects.create(department=departments[1], grade="B", no_follow_up_days=45)
    usernames = [f"sweep{n:03d}" for n in range(args.reps)]
    User.objects.filter(username__in=usernames).delete()
    User.objects.bulk_create(
        User(username=name, role=Role.SALES, department=departments[n % 3])
        for n, name in enumerate(usernames)
    )
    owners = list(User.objects.filter(username__in=usernames).values_list("pk", flat=True))

    adapt = connection.ops.adapt_datetimefield_value
    columns = (
        "code", "name", "short_name", "english_name", "stage", "owner_id", "registered_by_id",
        "registered_at", "owned_since", "last_follow_up_at", "last_order_at", "grade",
        "needs_review", "on_hold", "tax_id", "phone", "email", "website", "industry", "source",
        "province", "city", "district", "address",
    )  # fmt: skip
    batch = []
    for number in range(1, args.customers + 1):
        owned_since = now - dt.timedelta(days=rng.uniform(0, 730))
        if rng.random() < args.neglected:  # last heard of any time since it was owned, or never
            span = (now - owned_since).total_seconds()
            last_follow_up = (
                owned_since + dt.timedelta(seconds=rng.uniform(0, span))
                if rng.random() < 0.7
                else None
            )
        else:  # an account the owner keeps up with: a follow-up every few weeks
            last_follow_up = max(owned_since, now - dt.timedelta(days=rng.expovariate(1 / 12)))
        # The longer a customer has been owned, the likelier it has bought (a customer held for
        # months without a deal is what the 90-day rule is there to take back).
        age_days = (now - owned_since).days
        won = rng.random() < min(0.85, 0.1 + age_days / 180)
        order = now - dt.timedelta(days=rng.uniform(0, 400)) if won and rng.random() < 0.7 else None
        batch.append(
            (
                f"P{number:07d}", f"扫描测试客户{number}有限公司", "", "",
                Stage.WON if won else rng.choice([Stage.LEAD, Stage.CONTACTED, Stage.QUOTED]),
                rng.choice(owners), owners[0], adapt(owned_since), adapt(owned_since),
                adapt(last_follow_up), adapt(order), rng.choice("AABBBCCCDD"), False,
                rng.random() < 0.01, "", "", "", "", "", "", "", "", "", "",
            )
        )  # fmt: skip
        if len(batch) == 20_000:
            with transaction.atomic():
                insert_values(Customer._meta.db_table, columns, batch)
            batch = []
    if batch:
        with transaction.atomic():
            insert_values(Customer._meta.db_table, columns, batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    load_seconds = time.perf_counter() - started

    # The naive approach, on a sample: every owned customer loaded as an object, its deadline
    # computed in Python, each release saved on its own (rolled back: the real sweep runs next).
    sample = list(
        Customer.objects.filter(owner__isnull=False)
        .select_related("owner")
        .order_by("pk")[: args.naive_sample]
    )
    began = time.perf_counter()
    book = RuleBook.load()
    with transaction.atomic():
        naive_released = 0
        for customer in sample:
            deadline = release_deadline(customer, now=now, book=book)
            if deadline is not None and deadline.at < now:
                owner_change(
                    customer=customer, to=None, kind=OwnershipKind.RELEASED_AUTO, actor=None
                )
                naive_released += 1
        naive_seconds = time.perf_counter() - began
        transaction.set_rollback(True)

    sweep = pool_sweep(now=now)
    rerun = pool_sweep(now=now)
    expected_share = naive_released / len(sample) if sample else 0
    report = {
        "engine": connection.vendor,
        "customers": args.customers,
        "load_seconds": round(load_seconds, 1),
        "sweep": sweep.as_json(),
        "rerun": rerun.as_json(),
        "naive_loop": {
            "sample": len(sample),
            "seconds": round(naive_seconds, 2),
            "extrapolated_seconds": round(naive_seconds * args.customers / max(1, len(sample))),
            "released_share": round(expected_share, 3),
        },
        "released_share": round(sweep.released / args.customers, 3),
        "local_time_of_now": timezone.localtime(now).isoformat(),
    }
    ok = sweep.seconds <= 30 and rerun.released == 0
    report["targets_met"] = ok
    print(json.dumps(report, ensure_ascii=False))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
