"""Load test: the realistic mix against `kedun serve --workers 2`, one web process killed midway.

Reps open their customers, check for duplicates and register new companies, log follow-ups,
claim from their branch's pool and write quotes; managers open their reports; every user waits
1–5 s between two actions (--think). Locust drives it headless (bench/load_mix.py) for a fixed
time; halfway through one gunicorn worker gets SIGKILL. Every write the client saw
acknowledged (2xx with the created id) goes in a ledger, and afterwards each one is looked up
in the database.

    python bench/load.py                             # PostgreSQL, 1,000,000 customers, 50 users
    python bench/load.py --engine sqlite --users 10  # SQLite, 100,000 customers, 10 users
    python bench/load.py --duration 120 --prepare-only ...

PostgreSQL: database `load_1m` on the server of KEDUN_LOAD_POSTGRES or KEDUN_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432),
jobs in Redis db 12 (KEDUN_LOAD_REDIS); the prepared database is kept and reused (--rebuild
drops it). SQLite: the data dir var/load-sqlite-<customers>, kept the same way; jobs in the
SQLite huey store, run by a separate `kedun worker` process.

Requests cut off by the kill: a GET is retried once (reads are safe to repeat); a write whose
connection dropped is not retried (these endpoints take no idempotency key, and a blind retry
could log a follow-up twice): it was never acknowledged, so it is not in the ledger, and it is
reported as `interrupted` — allowed only within a few seconds of the kill. Anything else that
is not the expected answer is an error.

Targets (issue 13): p95 ≤ 300 ms over the mix, 0 errors, every acknowledged write found.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _postgres_server() -> str:
    """The server of KEDUN_DATABASE_URL when set (its database is left alone), else local."""
    url = os.environ.get("KEDUN_DATABASE_URL", "")
    if url:
        parts = urllib.parse.urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"
    return "postgres://postgres@127.0.0.1:5432"


POSTGRES = os.environ.get("KEDUN_LOAD_POSTGRES") or _postgres_server()
REDIS = os.environ.get("KEDUN_LOAD_REDIS", "redis://127.0.0.1:6379/12")


def log(message: str) -> None:
    print(
        f"[load {time.strftime('%H:%M:%S', time.gmtime())}] {message}", file=sys.stderr, flush=True
    )


def environment(args) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEDUN_")}
    env["DJANGO_SETTINGS_MODULE"] = "kedun.config.settings"
    if args.engine == "postgresql":
        data_dir = ROOT / "var" / f"load-pg-{args.database}"
        env["KEDUN_DATABASE_URL"] = f"{POSTGRES}/{args.database}"
        env["KEDUN_REDIS_URL"] = REDIS
    else:
        data_dir = ROOT / "var" / f"load-sqlite-{args.customers}"
    data_dir.mkdir(parents=True, exist_ok=True)
    env["KEDUN_DATA_DIR"] = str(data_dir)
    env["KEDUN_SECRET_KEY"] = "load-test-secret-key-" + "x" * 40
    env["KEDUN_LOG_LEVEL"] = "WARNING"
    return env


def database_create(args) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [args.database]
        ).fetchone()
        if exists and args.rebuild:
            connection.execute(f'DROP DATABASE "{args.database}" WITH (FORCE)')
            exists = None
        if not exists:
            connection.execute(f'CREATE DATABASE "{args.database}"')


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def started(command: list[str], env: dict[str, str], log_file: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kedun", *command],
        env=env,
        stdout=subprocess.PIPE if command[0] == "serve" else subprocess.DEVNULL,
        stderr=log_file.open("w"),
        text=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def percentile(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return round(ordered[max(0, math.ceil(len(ordered) * share) - 1)], 1) if ordered else 0.0


def summary(records: list[list]) -> dict:
    times = [r[2] for r in records]
    outcomes = Counter(r[4] for r in records)
    return {
        "requests": len(records),
        "p50_ms": percentile(times, 0.50),
        "p95_ms": percentile(times, 0.95),
        "max_ms": round(max(times), 1) if times else 0.0,
        **{outcome: outcomes[outcome] for outcome in sorted(outcomes) if outcome != "ok"},
    }


def server_side(access_log: Path) -> dict:
    """Time spent in the web processes per route (gunicorn's access log), queueing excluded:
    on a busy machine it tells slow code from a saturated CPU."""
    times: dict[str, list[float]] = {}
    line = re.compile(r'"(GET|POST) ([^ ?]+)\S* HTTP/[^"]*" \d+ .* <\d+> (\d+)ms$')
    for entry in access_log.read_text().splitlines():
        match = line.search(entry)
        if match:
            route = f"{match[1]} {re.sub(r'/[0-9]+/', '/N/', match[2])}"
            times.setdefault(route, []).append(float(match[3]))
    return {
        route: {"requests": len(ms), "p50_ms": percentile(ms, 0.5), "p95_ms": percentile(ms, 0.95)}
        for route, ms in sorted(times.items(), key=lambda item: -sum(item[1]))
    }


def ledger_check(ledger: list[dict]) -> dict:
    from kedun.customers.models import Customer, FollowUp
    from kedun.sales.models import Quote

    missing: list[dict] = []
    by_kind: dict[str, list[dict]] = {}
    for entry in ledger:
        by_kind.setdefault(entry["kind"], []).append(entry)
    found = {
        "customer": set(
            Customer.objects.filter(
                pk__in=[e["id"] for e in by_kind.get("customer", [])]
            ).values_list("pk", "owner_id")
        ),
        "claim": set(
            Customer.objects.filter(pk__in=[e["id"] for e in by_kind.get("claim", [])]).values_list(
                "pk", "owner_id"
            )
        ),
        "follow_up": set(
            FollowUp.objects.filter(
                pk__in=[e["id"] for e in by_kind.get("follow_up", [])]
            ).values_list("pk", flat=True)
        ),
        "quote": set(
            Quote.objects.filter(pk__in=[e["id"] for e in by_kind.get("quote", [])]).values_list(
                "pk", flat=True
            )
        ),
    }
    for entry in ledger:
        key = (entry["id"], entry["owner"]) if "owner" in entry else entry["id"]
        if key not in found[entry["kind"]]:
            missing.append(entry)
    return {
        "acknowledged": dict(Counter(e["kind"] for e in ledger)),
        "missing": missing,
    }


def run(args, env: dict[str, str]) -> dict:
    from django.db import connections

    from load_data import cast
    from registry_scale import FORMS, dictionaries

    manager_users = max(1, args.users // 10)
    company = cast(users=args.users)
    if len(company.reps) < args.users - manager_users:
        raise SystemExit("not enough fresh reps for this many users today: --rebuild")
    connections.close_all()

    work = Path(env["KEDUN_DATA_DIR"]) / "run"
    work.mkdir(exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = {
        "reps": company.reps,
        "managers": company.managers,
        "manager_users": manager_users,
        "products": company.products,
        "names": [*dictionaries(), FORMS],
        "think_seconds": args.think,
        "records_file": str(work / "records.json"),
        "ledger_file": str(work / "ledger.json"),
    }
    (work / "config.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    for name in ("records.json", "ledger.json", "access.log"):
        (work / name).unlink(missing_ok=True)

    worker = started(["worker"], env, work / "worker.log")
    server = started(
        [
            "serve",
            "--workers",
            str(args.workers),
            "--port",
            str(port),
            "--access-log",
            str(work / "access.log"),
        ],
        env,
        work / "serve.log",
    )
    try:
        banner = server.stdout.readline()
        if "running at" not in banner:
            raise SystemExit(f"kedun serve did not start: {(work / 'serve.log').read_text()}")
        urllib.request.urlopen(f"{base}/api/v1/health/", timeout=60).read()
        log(f"serving at {base} ({args.workers} processes), {args.users} users, {args.duration} s")
        locust_env = {**env, "KEDUN_LOAD_CONFIG": str(work / "config.json")}
        locust = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(ROOT / "bench" / "load_mix.py"),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(min(args.users, 10)),
                "--run-time",
                f"{args.duration}s",
                "--stop-timeout",
                "30",
                "--host",
                base,
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            env=locust_env,
            stdout=(work / "locust.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        time.sleep(args.duration * args.kill_at)
        before = children(server.pid)
        victim = random.choice(before)
        killed_at = time.time()
        os.kill(victim, signal.SIGKILL)
        log(f"SIGKILL web process {victim}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            after = children(server.pid)
            if len(after) == len(before) and victim not in after:
                break
            time.sleep(0.2)
        replaced = victim not in children(server.pid) and len(children(server.pid)) == len(before)
        locust.wait(timeout=args.duration + 120)
    finally:
        stop(server)
        stop(worker)

    records = json.loads((work / "records.json").read_text())
    ledger = json.loads((work / "ledger.json").read_text())
    # A write cut off by the kill was in flight then: started before it, ended about then.
    for record in records:
        if record[4] == "interrupted" and not (record[1] <= killed_at + 2):
            record[4] = "error"
    measured = [r for r in records if r[0] != "login"]
    kinds = sorted({r[0] for r in records})
    report = {
        "engine": connections["default"].vendor,
        "customers": args.customers,
        "users": args.users,
        "web_processes": args.workers,
        "duration_s": args.duration,
        "think_s": args.think,
        "requests_per_s": round(len(records) / args.duration, 1),
        "overall": summary(measured),
        "by_kind": {kind: summary([r for r in records if r[0] == kind]) for kind in kinds},
        "killed_worker": {
            "pid": victim,
            "at_s": round(killed_at - min(r[1] for r in records), 1) if records else None,
            "replaced": replaced,
        },
        "ledger": ledger_check(ledger),
        "server_side": server_side(work / "access.log"),
        "error_samples": [r for r in records if r[4] == "error"][:10],
    }
    errors = report["overall"].get("error", 0)
    report["targets_met"] = (
        report["overall"]["p95_ms"] <= 300
        and errors == 0
        and not report["ledger"]["missing"]
        and replaced
    )
    return report


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--duration", type=int, default=90, help="seconds of load")
    parser.add_argument("--database", default="load_1m", help="PostgreSQL database name")
    parser.add_argument("--rebuild", action="store_true", help="load the registry again")
    parser.add_argument("--prepare-only", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="web processes")
    parser.add_argument(
        "--think",
        type=float,
        nargs=2,
        default=[1.0, 5.0],
        metavar=("MIN", "MAX"),
        help="seconds a user waits between two actions",
    )
    parser.add_argument(
        "--kill-at", type=float, default=0.5, help="when to kill a web process (share of the run)"
    )
    args = parser.parse_args()
    if args.customers is None:
        args.customers = 1_000_000 if args.engine == "postgresql" else 100_000
    if args.users is None:
        args.users = 50 if args.engine == "postgresql" else 10

    env = environment(args)
    if args.engine == "postgresql":
        database_create(args)
    elif args.rebuild:
        for name in ("kedun.sqlite3", "kedun.sqlite3-wal", "kedun.sqlite3-shm", "jobs.sqlite3"):
            (Path(env["KEDUN_DATA_DIR"]) / name).unlink(missing_ok=True)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT / "bench"))
    import django

    django.setup()
    from load_data import prepare

    prepare(customers=args.customers, log=log)
    if args.prepare_only:
        return 0
    report = run(args, env)
    print(json.dumps(report, ensure_ascii=False))
    return 0 if report["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
