"""Benchmark: the duplicate check on a labelled set (default ../shared/data/dedup-dev).

Scored as the set's README says, with the naive checks other CRMs ship run on the same data in
the same run: exact name, LIKE 'name%', LIKE '%name%', a rapidfuzz scan of every name.

    python bench/dedup_dev.py [--data DIR] [--naive-limit N]
    KEDUN_DATABASE_URL=postgres://… python bench/dedup_dev.py   (the customers tables are emptied)

Targets (issue 3): found ≥ 98%, blocked ≥ 95%, false block ≤ 0.5% (hard ones ≤ 1%),
wrong owner ≤ 0.2%, any candidate on ≤ 15% of new companies, ≤ 10 ms a query.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

CERTAIN_KINDS = {
    "exact",
    "traditional",
    "region_dropped",
    "region_paren",
    "form_changed",
    "noise",
    "phone_only",
    "tax_id_only",
}
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "dedup-dev"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--naive-limit",
        type=int,
        default=300,
        help="queries for the slow naive checks (they scan every name)",
    )
    parser.add_argument("--show-misses", type=int, default=0)
    args = parser.parse_args()
    if not (args.data / "registry.csv").exists():
        print(f"no data set at {args.data}", file=sys.stderr)
        return 2

    os.environ.setdefault("KEDUN_DATA_DIR", tempfile.mkdtemp(prefix="kedun-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kedun.config.settings")
    import django

    django.setup()
    from benchsupport import customers_reset, load_registry
    from kedun.customers.identity.keys import identity_keys
    from kedun.customers.matching import duplicates_find

    customers_reset()
    with (args.data / "registry.csv").open(encoding="utf-8") as handle:
        registry = list(csv.DictReader(handle))
    started = time.perf_counter()
    code_of = load_registry(registry)  # customer id → code
    load_seconds = time.perf_counter() - started
    with (args.data / "queries.jsonl").open(encoding="utf-8") as handle:
        queries = [json.loads(line) for line in handle if line.strip()]

    def kedun_check(query: dict) -> list[tuple[str, str]]:
        keys = identity_keys(
            name=query.get("name", ""),
            phones=[query.get("phone", "")],
            emails=[query.get("email", "")],
            websites=[query.get("website", "")],
            tax_id=query.get("tax_id", ""),
        )
        return [(code_of[c.customer_id], c.level) for c in duplicates_find(keys)]

    results = {"kedun": score(queries, kedun_check, show_misses=args.show_misses)}
    results["kedun"]["load_seconds"] = round(load_seconds, 1)
    sample = queries[: args.naive_limit]
    for label, check in naive_checks(registry).items():
        results[label] = score(sample, check)
    print(json.dumps(results, ensure_ascii=False, indent=1))
    kedun = results["kedun"]
    ok = (
        kedun["found"] >= 0.98
        and kedun["blocked"] >= 0.95
        and kedun["false_block"] <= 0.005
        and kedun["false_block_hard"] <= 0.01
        and kedun["wrong_owner"] <= 0.002
        and kedun["noise"] <= 0.15
        and kedun["ms_per_query"] <= 10
    )
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


def score(
    queries: list[dict], check: Callable[[dict], list[tuple[str, str]]], *, show_misses: int = 0
) -> dict:
    duplicates = [q for q in queries if q["expect"]]
    certain = [q for q in duplicates if q["kind"] in CERTAIN_KINDS]
    new = [q for q in queries if not q["expect"]]
    found = blocked = false_block = false_block_hard = wrong_owner = noise = 0
    hard_new = sum(1 for q in new if q["hard"])
    easy_new = sum(1 for q in new if not q["hard"])
    misses: list[str] = []
    started = time.perf_counter()
    answers = [check(q) for q in queries]
    seconds = time.perf_counter() - started
    for query, answer in zip(queries, answers, strict=True):
        expect = query["expect"]
        dup_codes = [code for code, level in answer if level == "duplicate"]
        if expect:
            if answer and answer[0][0] == expect:
                found += 1
            elif len(misses) < show_misses:
                misses.append(f"MISS {query['kind']}: {query['name']} → {answer[:2]}")
            if query["kind"] in CERTAIN_KINDS:
                if dup_codes[:1] == [expect] and answer[0][1] == "duplicate":
                    blocked += 1
                elif len(misses) < show_misses:
                    misses.append(f"NOT BLOCKED {query['kind']}: {query} → {answer[:2]}")
            if any(code != expect for code in dup_codes):
                wrong_owner += 1
        else:
            if dup_codes:
                false_block += 1
                false_block_hard += query["hard"]
                if len(misses) < show_misses:
                    misses.append(f"FALSE BLOCK {query['kind']}: {query['name']} → {answer[:2]}")
            if answer and not query["hard"]:
                noise += 1
    for line in misses:
        print(line, file=sys.stderr)
    return {
        "queries": len(queries),
        "found": round(found / max(len(duplicates), 1), 4),
        "blocked": round(blocked / max(len(certain), 1), 4),
        "false_block": round(false_block / max(len(new), 1), 4),
        "false_block_hard": round(false_block_hard / max(hard_new, 1), 4),
        "wrong_owner": round(wrong_owner / max(len(duplicates), 1), 4),
        "noise": round(noise / max(easy_new, 1), 4),
        "ms_per_query": round(1000 * seconds / max(len(queries), 1), 2),
    }


def naive_checks(registry: list[dict]) -> dict[str, Callable[[dict], list[tuple[str, str]]]]:
    from django.db import connection
    from rapidfuzz import fuzz, process

    names = [row["name"] for row in registry]
    codes = [row["code"] for row in registry]

    def sql(where: str, param: Callable[[str], str]) -> Callable[[dict], list[tuple[str, str]]]:
        def check(query: dict) -> list[tuple[str, str]]:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT code FROM customers_customer WHERE {where} LIMIT 5",
                    [param(query["name"])],
                )
                return [(code, "duplicate") for (code,) in cursor.fetchall()]

        return check

    def rapidfuzz_scan(query: dict) -> list[tuple[str, str]]:
        best = process.extractOne(query["name"], names, scorer=fuzz.ratio, score_cutoff=90)
        return [(codes[best[2]], "duplicate")] if best else []

    return {
        "naive_exact_name": sql("name = %s", lambda n: n),
        "naive_like_prefix": sql("name LIKE %s", lambda n: n[:4] + "%"),
        "naive_like_infix": sql("name LIKE %s", lambda n: "%" + n[:4] + "%"),
        "naive_rapidfuzz_scan": rapidfuzz_scan,
    }


if __name__ == "__main__":
    sys.exit(main())
