"""Load test: the realistic mix against `kedun serve --workers 2`, one web process killed midway.

Reps open their customers, check for duplicates and register new companies, log follow-ups,
claim from their branch's pool and write quotes; managers open their reports. Locust drives
it headless (bench/load_mix.py) for a fixed time; halfway through one gunicorn worker gets
SIGKILL. Every write the client saw acknowledged (2xx with the created id) goes in a ledger,
and afterwards each one is looked up in the database.

    python bench/load.py                             # PostgreSQL, 1,000,000 customers, 50 users
    python bench/load.py --engine sqlite --users 10  # SQLite, 100,000 customers, 10 users
    python bench/load.py --duration 120 --prepare-only ...

PostgreSQL: database `load_1m` at KEDUN_LOAD_POSTGRES (default postgres://postgres@127.0.0.1:5432),
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
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get("KEDUN_LOAD_POSTGRES", "postgres://postgres@127.0.0.1:5432")
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--duration", type=int, default=90, help="seconds of load")
    parser.add_argument("--database", default="load_1m", help="PostgreSQL database name")
    parser.add_argument("--rebuild", action="store_true", help="load the registry again")
    parser.add_argument("--prepare-only", action="store_true")
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
    raise SystemExit("not yet")


if __name__ == "__main__":
    sys.exit(main())
