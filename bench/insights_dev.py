"""Benchmark: diversion insights on ../shared/data/company-dev (issue 12).

1. `kedun import-history` of the simulated year (314,469 lines) into an empty Kedun: lines/s
   (target ≥ 5,000 on SQLite and PostgreSQL).
2. `kedun insights risk --json` as of the history's last day, full: seconds (target ≤ 60) and
   the score against truth.json — every diverter above every honest rep, and for each
   diverter at least half of the customers its signals name in its truth list. The truth is
   read here, by the bench, never by Kedun.
3. One more day of events (the last day's, moved a day on, with new numbers) imported, then
   the nightly incremental run as of that day: seconds (target ≤ 5).
4. The naive way, in the same run: the reps ranked by one signal at a time (lost-quote rate,
   order decline, contact changes, views of others' customers), where each puts the diverters.

    python bench/insights_dev.py                      # SQLite in a fresh data dir
    KEDUN_DATABASE_URL=postgres://…/fresh_db python bench/insights_dev.py
    python bench/insights_dev.py --history FILE --truth FILE   # another simulated company

Prints one JSON report; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import json
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "company-dev"
IMPORT_TARGET = 5000
FULL_TARGET_S = 60
INCREMENTAL_TARGET_S = 5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=Path, default=DATA / "history.jsonl.gz")
    parser.add_argument("--truth", type=Path, default=DATA / "truth.json")
    args = parser.parse_args()
    os.environ.setdefault("KEDUN_DATA_DIR", tempfile.mkdtemp(prefix="kedun-bench-insights-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kedun.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from kedun.history.models import ImportedLine

    if ImportedLine.objects.exists():
        print("bench/insights_dev.py needs an empty Kedun (a fresh KEDUN_DATA_DIR or database)")
        return 2
    report: dict[str, Any] = {"engine": connection.vendor, "history": str(args.history)}

    summary = _command_json("import-history", str(args.history))
    report["import"] = {
        "lines": summary["lines"],
        "bad_lines": summary["bad_lines"],
        "seconds": summary["seconds"],
        "lines_per_second": summary["lines_per_second"],
        "target": IMPORT_TARGET,
    }
    last_day = _last_day(args.history)
    started = time.perf_counter()
    risk = _command_json("insights", "risk", "--as-of", last_day.isoformat(), "--json", "--full")
    report["full"] = {"seconds": round(time.perf_counter() - started, 2), "target": FULL_TARGET_S}
    truth = json.loads(args.truth.read_text())
    report["score"] = _score(risk, truth)

    next_day = last_day + dt.timedelta(days=1)
    more = _one_more_day(args.history, last_day)
    summary = _command_json("import-history", str(more))
    started = time.perf_counter()
    _command_json("insights", "risk", "--as-of", next_day.isoformat(), "--json")
    from kedun.insights.models import RiskRun

    run = RiskRun.objects.order_by("-started_at").first()
    report["incremental"] = {
        "new_lines": summary["imported"],
        "mode": run.mode if run else None,
        "seconds": round(time.perf_counter() - started, 2),
        "target": INCREMENTAL_TARGET_S,
    }
    report["naive"] = _naive(truth, last_day)

    missed = []
    if report["import"]["lines_per_second"] < IMPORT_TARGET:
        missed.append("import lines/s")
    if report["full"]["seconds"] > FULL_TARGET_S:
        missed.append("full risk seconds")
    if report["incremental"]["seconds"] > INCREMENTAL_TARGET_S:
        missed.append("incremental risk seconds")
    if report["incremental"]["mode"] != "incremental":
        missed.append("nightly run was not incremental")
    if not report["score"]["diverters_above_honest"]:
        missed.append("a diverter does not rank above every honest rep")
    if not all(d["named_in_truth_share"] >= 0.5 for d in report["score"]["diverters"].values()):
        missed.append("a diverter's signals name mostly other customers")
    report["missed"] = missed
    print(json.dumps(report, ensure_ascii=False))
    return 1 if missed else 0


def _command_json(*argv: str) -> dict[str, Any]:
    """Run a kedun command and read the JSON of its last line."""
    from django.core.management import call_command

    out = io.StringIO()
    with redirect_stdout(out):
        call_command(*argv, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def _lines(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as file:
        for line in file:
            if line.strip():
                yield json.loads(line)


def _last_day(path: Path) -> dt.date:
    last = None
    for event in _lines(path):
        if "at" in event:
            last = event["at"]
    assert last is not None
    return dt.datetime.fromisoformat(last).date()


def _one_more_day(path: Path, last_day: dt.date) -> Path:
    """The last day's events again, a day later, with new numbers for what they create — a
    realistic night's worth of new records for the incremental run."""
    out = Path(tempfile.mkdtemp(prefix="kedun-bench-day-")) / "next-day.jsonl"
    suffix = "-N"
    created: dict[str, set[str]] = {"quote": set(), "order": set(), "invoice": set()}
    with out.open("w", encoding="utf-8") as file:
        for event in _lines(path):
            at = event.get("at")
            if not at or dt.datetime.fromisoformat(at).date() != last_day:
                continue
            moved = dict(event)
            moved["at"] = (dt.datetime.fromisoformat(at) + dt.timedelta(days=1)).isoformat()
            kind = moved["type"]
            if kind in created:
                created[kind].add(moved["code"])
                moved["code"] += suffix
            for ref, kinds in (("quote", "quote"), ("order", "order"), ("invoice", "invoice")):
                if ref in moved and moved[ref] in created[kinds]:
                    moved[ref] += suffix
            if kind in ("quote_result", "shipment", "payment") and not any(
                moved.get(ref, "").endswith(suffix) for ref in ("quote", "order", "invoice")
            ):
                continue  # refers to something of an earlier day: already done
            for key in ("promised_at", "due_at"):
                if key in moved:
                    moved[key] = (
                        dt.datetime.fromisoformat(moved[key]) + dt.timedelta(days=1)
                    ).isoformat()
            file.write(json.dumps(moved, ensure_ascii=False) + "\n")
    return out


def _score(risk: dict[str, Any], truth: dict[str, Any]) -> dict[str, Any]:
    ranks = {rep["username"]: i for i, rep in enumerate(risk["reps"], start=1)}
    scores = {rep["username"]: rep["score"] for rep in risk["reps"]}
    diverters = truth["diverters"]
    honest = [u for u in ranks if u not in diverters]
    best_honest = max((scores[u] for u in honest), default=0.0)
    result: dict[str, Any] = {"diverters": {}, "best_honest_score": best_honest}
    for username, facts in diverters.items():
        rep = next((r for r in risk["reps"] if r["username"] == username), None)
        named = {c for s in (rep or {}).get("signals", []) for c in s["customers"]}
        hits = named & set(facts["customers"])
        result["diverters"][username] = {
            "pattern": facts.get("pattern"),
            "rank": ranks.get(username),
            "score": scores.get(username),
            "named": len(named),
            "named_in_truth": len(hits),
            "named_in_truth_share": round(len(hits) / len(named), 2) if named else 0.0,
            "signals": sorted({s["kind"] for s in (rep or {}).get("signals", [])}),
        }
    result["diverters_above_honest"] = all((scores.get(u) or 0) > best_honest for u in diverters)
    result["lookalikes"] = {
        u: {"kind": kind, "rank": ranks.get(u), "score": scores.get(u)}
        for u, kind in truth.get("lookalikes", {}).items()
    }
    return result


def _naive(truth: dict[str, Any], as_of: dt.date) -> dict[str, Any]:
    """One signal at a time, as a spreadsheet would rank the reps: where the diverters land."""
    from django.db.models import Count, Q

    from kedun.audit.models import AccessEvent, AccessKind
    from kedun.customers.models import ContactChange, Customer
    from kedun.org.models import Role, User
    from kedun.sales.models import Order, Quote, QuoteStatus

    reps = {u.pk: u.username for u in User.objects.filter(role=Role.SALES)}
    half = as_of - dt.timedelta(days=182)
    lost = dict(
        Quote.objects.values_list("owner_id")
        .annotate(share=Count("pk", filter=Q(status=QuoteStatus.LOST)) * 1.0 / Count("pk"))
        .values_list("owner_id", "share")
    )
    before = Counter(
        Order.objects.filter(created_at__date__lt=half).values_list("owner_id", flat=True)
    )
    after = Counter(
        Order.objects.filter(created_at__date__gte=half).values_list("owner_id", flat=True)
    )
    decline = {pk: (before[pk] - after[pk]) / max(before[pk], 1) for pk in reps}
    changes = Counter(ContactChange.objects.values_list("changed_by_id", flat=True))
    owner = dict(Customer.objects.values_list("pk", "owner_id"))
    others: dict[int, int] = defaultdict(int)
    for user_id, customer_id in AccessEvent.objects.filter(kind=AccessKind.VIEW).values_list(
        "user_id", "customer_id"
    ):
        if owner.get(customer_id) != user_id:
            others[user_id] += 1
    rankings = {
        "lost_quote_rate": lost,
        "order_decline": decline,
        "contact_changes": changes,
        "views_of_others_customers": others,
    }
    diverters = set(truth["diverters"])
    result = {}
    for name, values in rankings.items():
        order = sorted(reps, key=lambda pk: -float(values.get(pk, 0) or 0))
        positions = {reps[pk]: i for i, pk in enumerate(order, start=1)}
        top = [reps[pk] for pk in order[: len(diverters)]]
        result[name] = {
            "diverter_ranks": {u: positions.get(u) for u in sorted(diverters)},
            "diverters_in_top": sum(1 for u in top if u in diverters),
            "top": top,
        }
    return result


if __name__ == "__main__":
    sys.exit(main())
