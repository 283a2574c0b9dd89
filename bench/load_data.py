"""The load test's company (bench/load.py): 100 branches of 40 reps and a manager each, their
books, and the rest of the registry in the branches' pools — one million customers by default,
generated like bench/registry_scale.py's and loaded through the importer's bulk path.

Reps' books are 60 % of the registry spread evenly (150 customers a rep at 1,000,000, under
the default holding limit of 200), the other 40 % wait in the pools of the 100 branches. Each
branch's pool is visible to its own reps only, so users from different branches never race for
the same pool customer (a claim that lost such a race would be a correct 409, not a fault).

Run by bench/load.py; kept between runs (PostgreSQL database `load_1m`, or the SQLite data
dir), and reused when it is already loaded.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

BRANCHES = 100
REPS_PER_BRANCH = 40
OWNED_SHARE = 0.6
PASSWORD = "load-test-password-1"
ADMIN = "load-admin"


@dataclass(frozen=True)
class Cast:
    reps: list[dict]  # {"username", "id", "token", "branch"} one a branch, fittest first
    managers: list[dict]  # {"username", "id", "token", "password", "branch"}
    products: list[int]


def prepare(*, customers: int, log) -> None:
    """Load the company unless it is there already (same size)."""
    from django.core.management import call_command

    from kedun.customers.models import Customer
    from kedun.org.models import User

    call_command("migrate", verbosity=0)
    if User.objects.filter(username=ADMIN).exists():
        loaded = Customer.objects.count()
        if loaded >= customers:
            log(f"reusing the prepared registry ({loaded} customers)")
            _refresh_clocks(log)
            return
        raise SystemExit(
            f"the prepared database has {loaded} customers, fewer than {customers}: "
            "drop it (or pass --rebuild) to load again"
        )
    _load(customers=customers, log=log)


def _load(*, customers: int, log) -> None:
    import time

    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from rest_framework.authtoken.models import Token

    from kedun.core import clock
    from kedun.customers.bulk import NewCustomer, customers_insert
    from kedun.customers.identity.keys import identity_keys
    from kedun.org.models import DataScope, Role, User
    from kedun.org.services import department_create
    from kedun.sales.models import Product
    from registry_scale import FORMS, credit_code, dictionaries

    started = time.perf_counter()
    now = clock.now()
    password = make_password(PASSWORD)  # one hash for every user: 4,100 hashes take minutes
    with transaction.atomic():
        root = department_create(actor=None, name="Load test company")
        admin = User.objects.create(
            username=ADMIN,
            role=Role.ADMIN,
            department=root,
            data_scope=DataScope.ALL,
            password=password,
            date_joined=now,
        )
        branches = [
            department_create(actor=None, name=f"Branch {n:03d}", parent=root)
            for n in range(1, BRANCHES + 1)
        ]
        managers = User.objects.bulk_create(
            User(
                username=f"load-mgr{n:03d}",
                role=Role.MANAGER,
                department=branch,
                data_scope=DataScope.DEPARTMENT_TREE,
                password=password,
                date_joined=now,
            )
            for n, branch in enumerate(branches, 1)
        )
        managers = list(User.objects.filter(username__startswith="load-mgr").order_by("username"))
        User.objects.bulk_create(
            User(
                username=f"load-rep{b:03d}-{r:02d}",
                role=Role.SALES,
                department=branch,
                manager=manager,
                data_scope=DataScope.OWN,
                password=password,
                date_joined=now,
            )
            for b, (branch, manager) in enumerate(zip(branches, managers, strict=True), 1)
            for r in range(1, REPS_PER_BRANCH + 1)
        )
        reps = list(User.objects.filter(username__startswith="load-rep").order_by("username"))
        Token.objects.bulk_create(
            Token(key=Token.generate_key(), user=user, created=now) for user in [*managers, *reps]
        )
        Product.objects.bulk_create(
            Product(
                sku=f"LOAD-{n:03d}",
                name=f"负载测试产品 {n:03d}",
                list_price=100 * n,
                floor_price=80 * n,
            )
            for n in range(1, 21)
        )
    log(f"company: {len(branches)} branches, {len(managers)} managers, {len(reps)} reps")

    rng = random.Random(20161108)
    cities, trades, industries = dictionaries()
    owned = int(customers * OWNED_SHARE)
    seen: set[tuple[str, str, str]] = set()

    def rows():
        number = 0
        while number < customers:
            parts = (rng.choice(cities), rng.choice(trades), rng.choice(industries))
            if parts in seen:
                continue
            seen.add(parts)
            number += 1
            name = parts[0] + parts[1] + parts[2] + rng.choice(FORMS)
            phone = f"1{rng.choice('3589')}{rng.randint(100_000_000, 999_999_999)}"
            tax_id = credit_code(rng) if number % 3 == 0 else ""
            if number % 50_000 == 0:
                log(f"  {number} customers generated")
            yield NewCustomer(
                code=f"L{number:07d}",
                name=name,
                phone=phone,
                keys=identity_keys(name=name, phones=[phone], tax_id=tax_id),
                owner=reps[number % len(reps)] if number <= owned else None,
                registered_by=admin,
            )

    customers_insert(rows(), batch_size=5000)
    log(f"customers loaded in {time.perf_counter() - started:.0f} s")
    # The pool: each branch holds an equal share, in it for three days (past the embargo).
    in_pool = dt.timedelta(days=3)
    with connection.cursor() as cursor:
        for n, branch in enumerate(branches):
            cursor.execute(
                "UPDATE customers_customer SET pool_department_id = %s, pool_entered_at = %s "
                "WHERE owner_id IS NULL AND id %% %s = %s",
                [branch.pk, now - in_pool, len(branches), n],
            )
        cursor.execute("ANALYZE")
    log(f"prepared in {time.perf_counter() - started:.0f} s")


def _refresh_clocks(log) -> None:
    """A registry prepared weeks ago would be released to the pool by the sweep the worker
    runs: start the owned customers' clocks again when the oldest is 20 days old."""
    from django.db.models import Min

    from kedun.core import clock
    from kedun.customers.models import Customer

    now = clock.now()
    oldest = Customer.objects.filter(owner__isnull=False).aggregate(at=Min("owned_since"))["at"]
    if oldest is not None and now - oldest > dt.timedelta(days=20):
        count = Customer.objects.filter(owner__isnull=False).update(
            owned_since=now, last_follow_up_at=now
        )
        log(f"restarted the pool clock of {count} owned customers")


def cast(*, users: int) -> Cast:
    """Who plays: per branch, the rep holding the fewest customers who has claimed none today
    (so the holding and daily claim limits leave room for the run), and the managers."""
    from django.db.models import Count
    from rest_framework.authtoken.models import Token

    from kedun.core import clock
    from kedun.customers.models import Customer, OwnershipEvent, OwnershipKind
    from kedun.org.models import Role, User
    from kedun.sales.models import Product

    since = clock.now() - dt.timedelta(hours=24)
    held = dict(
        Customer.objects.filter(owner__isnull=False)
        .values("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    claimed = set(
        OwnershipEvent.objects.filter(kind=OwnershipKind.CLAIMED, at__gte=since).values_list(
            "to_owner_id", flat=True
        )
    )
    reps = [
        {**rep, "held": held.get(rep["id"], 0)}
        for rep in User.objects.filter(
            username__startswith="load-rep", role=Role.SALES, is_active=True
        ).values("id", "username", "department_id")
        if rep["id"] not in claimed
    ]
    tokens = dict(Token.objects.values_list("user_id", "key"))
    best: dict[int, dict] = {}
    for rep in reps:
        current = best.get(rep["department_id"])
        if current is None or rep["held"] < current["held"]:
            best[rep["department_id"]] = rep
    chosen = sorted(best.values(), key=lambda r: r["held"])
    managers = User.objects.filter(username__startswith="load-mgr").order_by("username")
    return Cast(
        reps=[
            {
                "username": r["username"],
                "id": r["id"],
                "token": tokens[r["id"]],
                "branch": r["department_id"],
            }
            for r in chosen[:users]
        ],
        managers=[
            {
                "username": m.username,
                "id": m.pk,
                "token": tokens[m.pk],
                "password": PASSWORD,
                "branch": m.department_id,
            }
            for m in managers[:users]
        ],
        products=list(Product.objects.filter(sku__startswith="LOAD-").values_list("pk", flat=True)),
    )
