"""Benchmark: the duplicate check and bulk loading at registry scale (default 1,000,000).

Generates customers from the companynameparser package's real dictionaries (regions, trade
names, industries), loads them through the same bulk path the importer uses (timed, reported
as rows/s), then times single queries — variants of registered companies and new ones — and
reports p50/p95. The naive checks (LIKE '%name%', a rapidfuzz scan of every name) run on a
few queries of the same data for comparison.

    python bench/registry_scale.py [--customers 1000000] [--queries 2000]
    KEDUN_DATABASE_URL=postgres://… python bench/registry_scale.py

Targets (issues 3 and 13): p95 ≤ 10 ms a query on SQLite and PostgreSQL, before and right
after the import; import ≥ 2,000 rows/s into the loaded registry.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import companynameparser

DATA = Path(companynameparser.__file__).resolve().parent / "data"
FORMS = ["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"]


def dictionaries() -> tuple[list[str], list[str], list[str]]:
    with (DATA / "pca.csv").open(encoding="utf-8") as handle:
        cities = sorted({row["shi"] for row in csv.DictReader(handle) if row["shi"]})
    trades = [
        line.strip()
        for line in (DATA / "brand.txt").read_text().splitlines()
        if 2 <= len(line.strip()) <= 4 and "\u4e00" <= line.strip()[0] <= "\u9fff"
    ]
    industries = [
        line.strip()
        for line in (DATA / "trade.txt").read_text().splitlines()
        if len(line.strip()) >= 2
    ]
    return cities, trades, industries


def credit_code(rng: random.Random) -> str:
    from kedun.customers.contact_identity import _credit_code_check_character

    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    first17 = (
        "91"
        + "".join(rng.choice("0123456789") for _ in range(6))
        + "".join(rng.choice(alphabet) for _ in range(9))
    )
    return first17 + _credit_code_check_character(first17)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--naive-queries", type=int, default=20)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the customers already loaded (re-time queries and import)",
    )
    parser.add_argument(
        "--import-rows",
        type=int,
        default=20_000,
        help="rows of the CSV imported into the loaded registry",
    )
    args = parser.parse_args()

    os.environ.setdefault("KEDUN_DATA_DIR", tempfile.mkdtemp(prefix="kedun-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kedun.config.settings")
    import django

    django.setup()
    from django.db import connection
    from rapidfuzz import fuzz, process

    from benchsupport import customers_reset, reps
    from kedun.customers.bulk import NewCustomer, customers_insert
    from kedun.customers.identity.keys import identity_keys
    from kedun.customers.matching import duplicates_find

    rng = random.Random(20161108)
    cities, trades, industries = dictionaries()
    if args.reuse:
        from django.core.management import call_command

        from kedun.customers.models import Customer

        call_command("migrate", verbosity=0)

        names = list(Customer.objects.filter(code__startswith="S").values_list("name", flat=True))
        load_seconds = 0.0
        if not names:
            print("nothing to reuse: run without --reuse first", file=sys.stderr)
            return 2
    else:
        customers_reset()
        owners = list(reps({f"rep{n:03d}" for n in range(1, 201)} | {"bench"}).values())
        registered_by = next(u for u in owners if u.username == "bench")

        seen: set[tuple[str, str, str]] = set()
        names: list[str] = []
        while len(names) < args.customers:
            parts = (rng.choice(cities), rng.choice(trades), rng.choice(industries))
            if parts in seen:
                continue
            seen.add(parts)
            names.append(parts[0] + parts[1] + parts[2] + rng.choice(FORMS))

        def rows():
            for number, name in enumerate(names, 1):
                phone = f"1{rng.choice('3589')}{rng.randint(100_000_000, 999_999_999)}"
                tax_id = credit_code(rng) if number % 3 == 0 else ""
                keys = identity_keys(name=name, phones=[phone], tax_id=tax_id)
                yield NewCustomer(
                    code=f"S{number:07d}",
                    name=name,
                    phone=phone,
                    keys=keys,
                    owner=rng.choice(owners),
                    registered_by=registered_by,
                )

        started = time.perf_counter()
        customers_insert(rows(), batch_size=5000)
        load_seconds = time.perf_counter() - started
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

    queries = []
    for _ in range(args.queries):
        if rng.random() < 0.6:  # a variant of a registered company
            name = rng.choice(names)
            variant = rng.choice(
                [
                    lambda n: n,
                    lambda n: n.replace("有限公司", "公司"),
                    lambda n: n[n.index("市") + 1 :] if "市" in n else n,
                    lambda n: " ".join(n),
                ]
            )
            queries.append(variant(name))
        else:
            queries.append(
                rng.choice(cities) + rng.choice(trades) + rng.choice(industries) + "有限公司"
            )

    def timed(check, items):
        times = []
        for item in items:
            began = time.perf_counter()
            check(item)
            times.append((time.perf_counter() - began) * 1000)
        times.sort()
        return {
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
            "max_ms": round(times[-1], 2),
        }

    kedun = timed(lambda q: duplicates_find(identity_keys(name=q)), queries)

    def like_infix(q: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM customers_customer WHERE name LIKE %s LIMIT 5", ["%" + q[2:6] + "%"]
            )
            cursor.fetchall()

    naive_sample = queries[: args.naive_queries]
    report = {
        "engine": connection.vendor,
        "customers": len(names),
        "load_seconds": round(load_seconds, 1),
        "load_rows_per_second": round(args.customers / load_seconds) if load_seconds else None,
        "kedun_query": kedun,
        "naive_like_infix": timed(like_infix, naive_sample),
        "naive_rapidfuzz_scan": timed(
            lambda q: process.extractOne(q, names, scorer=fuzz.ratio, score_cutoff=90), naive_sample
        ),
    }
    # A fresh seed: a rerun with --reuse must import new companies, not last run's again.
    import_rng = random.Random(time.time_ns())
    report["import"] = import_file(import_rng, names, cities, trades, industries, args.import_rows)
    # The same queries right after the import, before the worker's vacuum of the registry
    # (enqueued by the import; no worker runs here): the import must not slow the check.
    after = timed(lambda q: duplicates_find(identity_keys(name=q)), queries)
    report["kedun_query_after_import"] = after
    ok = (
        kedun["p95_ms"] <= 10
        and after["p95_ms"] <= 10
        and report["import"]["rows_per_second"] >= 2000
    )
    report["targets_met"] = ok
    print(json.dumps(report, ensure_ascii=False))
    return 0 if ok else 1


def import_file(rng, names, cities, trades, industries, rows: int) -> dict:
    """Write a CSV (70% new companies, 30% variants of registered ones) and time
    `kedun import-customers` on it, file reading included."""
    import io
    import json as json_module

    from django.core.management import call_command

    path = Path(tempfile.mkdtemp(prefix="kedun-import-")) / "leads.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["客户名称", "电话", "负责人", "登记时间"])
        for _ in range(rows):
            if rng.random() < 0.3:
                name = rng.choice(names).replace("有限公司", "公司")
            else:
                name = rng.choice(cities) + rng.choice(trades) + rng.choice(industries) + "有限公司"
            phone = f"1{rng.choice('3589')}{rng.randint(100_000_000, 999_999_999)}"
            writer.writerow([name, phone, f"rep{rng.randint(1, 200):03d}", "2024-03-01"])
    out = io.StringIO()
    started = time.perf_counter()
    call_command("import-customers", str(path), stdout=out)
    seconds = time.perf_counter() - started
    summary = json_module.loads(out.getvalue().splitlines()[-1])
    summary["seconds"] = round(seconds, 1)
    summary["rows_per_second"] = round(rows / seconds)
    return summary


if __name__ == "__main__":
    sys.exit(main())
