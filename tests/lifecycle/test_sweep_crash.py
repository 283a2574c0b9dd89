"""The sweep is crash-safe (MISSION §4): `kill -9` during a sweep of 100,000 customers, run it
again, and exactly the customers due are in the pool, each released once, every owner told
once, and the audit chain verifies.

It runs `kedun pool-sweep` in a subprocess against a database of its own: a SQLite file in a
temporary data directory, or — when the suite runs on PostgreSQL (KEDUN_DATABASE_URL) — a fresh
database created for the test and dropped after it. About 15-30 s.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import timezone

from kedun.customers.models import Customer, OwnershipEvent
from kedun.notifications.models import Notification

ROOT = Path(__file__).resolve().parents[2]
NOW = timezone.make_aware(dt.datetime(2027, 1, 30, 2, 0))
TOTAL = 100_000
REPS = 50  # 2,000 customers each: with --batch 2000, one owner per transaction
BATCH = 2000

# Histories by customer number modulo 10:
# label: (days owned, days since the last qualifying follow-up, stage, on hold, days since an order)
HISTORIES = {
    0: ("silent", 60, 40, "contacted", False, None),  # due: 40 days without a follow-up
    1: ("never_followed", 35, None, "lead", False, None),  # due: owned 35 days, never followed
    2: ("no_deal", 100, 2, "quoted", False, None),  # due: 100 days without a deal
    3: ("won", 100, 2, "won", False, None),  # a deal: kept
    4: ("held", 60, None, "contacted", True, None),  # a manager's hold: kept
    5: ("ordered", 60, None, "contacted", False, 30),  # an order 30 days ago: kept
    6: ("warned", 60, 28, "contacted", False, None),  # released in 2 days: warned
    7: ("quiet", 10, 1, "contacted", False, None),
    8: ("quiet", 10, 1, "contacted", False, None),
    9: ("quiet", 10, 1, "contacted", False, None),
}
DUE = {"silent": 10_000, "never_followed": 10_000, "no_deal": 10_000}
EXPECTED_RELEASED = sum(DUE.values())
EXPECTED_WARNED = 10_000

CUSTOMER = Customer._meta.db_table
EVENT = OwnershipEvent._meta.db_table
NOTIFICATION = Notification._meta.db_table


def load() -> None:
    """Run in the subprocess (Django set up on the crash database): the reps and the
    customers, written set-based."""
    from django.db import connection, transaction

    from kedun.core.db import insert_values
    from kedun.org.models import Department, User

    adapt = connection.ops.adapt_datetimefield_value

    def ago(days: int | None):
        return None if days is None else adapt(NOW - dt.timedelta(days=days))

    with transaction.atomic():
        department = Department.objects.create(name="华东", created_at=NOW)
        department.path = f"/{department.pk}/"
        department.save(update_fields=["path"])
        reps = User.objects.bulk_create(
            User(username=f"rep{n:02d}", department=department) for n in range(REPS)
        )
    columns = (
        "code",
        "name",
        "short_name",
        "english_name",
        "stage",
        "owner_id",
        "registered_by_id",
        "registered_at",
        "owned_since",
        "last_follow_up_at",
        "last_order_at",
        "on_hold",
        "source",
        "grade",
        "needs_review",
        "tax_id",
        "phone",
        "email",
        "website",
        "industry",
        "province",
        "city",
        "district",
        "address",
    )
    per_rep = TOTAL // REPS
    rows = []
    for number in range(TOTAL):
        label, owned, followed, stage, held, ordered = HISTORIES[number % 10]
        owner = reps[number // per_rep].pk
        rows.append(
            (
                f"K{number:06d}",
                f"测试客户{number}有限公司",
                "",
                "",
                stage,
                owner,
                owner,
                ago(owned),
                ago(owned),
                ago(followed),
                ago(ordered),
                held,
                label,
                "B",
                False,
                *("",) * 9,
            )
        )
    for start in range(0, TOTAL, 20_000):
        with transaction.atomic():
            insert_values(CUSTOMER, columns, rows[start : start + 20_000])


class CrashDatabase:
    """The crash test's own database, reached by subprocesses through their environment and
    by the test through a plain connection."""

    def __init__(self, data_dir: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KEDUN_")}
        for name in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"):
            self.env.pop(name, None)
        self.env["KEDUN_DATA_DIR"] = str(data_dir)
        self.env["PYTHONPATH"] = str(ROOT)
        suite_url = os.environ.get("KEDUN_DATABASE_URL", "")
        self.url = ""
        self.name = ""
        if suite_url:
            parts = urllib.parse.urlsplit(suite_url)
            self.name = f"kedun_crash_{uuid.uuid4().hex[:10]}"
            self.admin_url = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
            self.url = urllib.parse.urlunsplit(parts._replace(path=f"/{self.name}"))
            self.env["KEDUN_DATABASE_URL"] = self.url
        self.sqlite_path = data_dir / "kedun.sqlite3"
        self._connection = None

    def create(self) -> None:
        if self.url:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self.url:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def rows(self, sql: str) -> list[tuple]:
        if self._connection is None:
            if self.url:
                import psycopg

                self._connection = psycopg.connect(self.url, autocommit=True)
            else:
                self._connection = sqlite3.connect(self.sqlite_path, timeout=30)
        return list(self._connection.execute(sql).fetchall())

    def scalar(self, sql: str):
        return self.rows(sql)[0][0]

    def kedun(self, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "kedun", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def python(self, code: str) -> subprocess.CompletedProcess:
        setup = (
            "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'kedun.config.settings'; "
            "django.setup(); "
        )
        return subprocess.run(
            [sys.executable, "-c", setup + code],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )


@pytest.fixture
def crash_db(tmp_path) -> Iterator[CrashDatabase]:
    database = CrashDatabase(tmp_path / "var")
    database.create()
    try:
        done = database.kedun("migrate", "--noinput")
        assert done.returncode == 0, done.stderr
        done = database.python("from tests.lifecycle.test_sweep_crash import load; load()")
        assert done.returncode == 0, done.stderr
        yield database
    finally:
        database.drop()


def sweep_command() -> list[str]:
    return [sys.executable, "-m", "kedun", "pool-sweep", "--now", NOW.isoformat()]


def test_a_sweep_killed_halfway_and_run_again_releases_exactly_the_due_customers(crash_db):
    released_sql = f"SELECT COUNT(*) FROM {EVENT} WHERE kind = 'released_auto'"
    assert crash_db.scalar(f"SELECT COUNT(*) FROM {CUSTOMER}") == TOTAL

    sweep = subprocess.Popen(
        [*sweep_command(), "--batch", str(BATCH)],
        env=crash_db.env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    give_up = time.monotonic() + 120
    try:
        while True:
            released = crash_db.scalar(released_sql)
            if 0 < released < EXPECTED_RELEASED:
                sweep.send_signal(signal.SIGKILL)
                break
            assert sweep.poll() is None, f"the sweep ended before it was killed: {sweep.stderr}"
            assert time.monotonic() < give_up, "no batch committed in two minutes"
            time.sleep(0.01)
    finally:
        if sweep.poll() is None:
            sweep.kill()
        sweep.wait(timeout=60)
    assert sweep.returncode == -signal.SIGKILL

    released_before = crash_db.scalar(released_sql)
    warned_before = crash_db.scalar(
        f"SELECT COUNT(*) FROM {CUSTOMER} WHERE release_warned_at IS NOT NULL"
    )
    assert 0 < released_before < EXPECTED_RELEASED

    rerun = crash_db.kedun("pool-sweep", "--now", NOW.isoformat(), "--batch", str(BATCH))
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert report["released"] == EXPECTED_RELEASED - released_before
    assert report["warned"] == EXPECTED_WARNED - warned_before
    assert report["in_pool"] == EXPECTED_RELEASED

    # Exactly the due customers are in the pool, each with exactly one release event.
    in_pool = dict(
        crash_db.rows(
            f"SELECT source, COUNT(*) FROM {CUSTOMER} WHERE owner_id IS NULL GROUP BY source"
        )
    )
    assert in_pool == DUE
    released_twice = crash_db.rows(
        f"SELECT customer_id FROM {EVENT} WHERE kind = 'released_auto' "
        "GROUP BY customer_id HAVING COUNT(*) <> 1"
    )
    assert released_twice == []
    released_and_in_pool = crash_db.scalar(
        f"SELECT COUNT(*) FROM {EVENT} e JOIN {CUSTOMER} c ON c.id = e.customer_id "
        "WHERE e.kind = 'released_auto' AND c.owner_id IS NULL "
        "AND c.pool_entered_at IS NOT NULL"
    )
    assert released_and_in_pool == EXPECTED_RELEASED
    warned = dict(
        crash_db.rows(
            f"SELECT source, COUNT(*) FROM {CUSTOMER} WHERE release_warned_at IS NOT NULL "
            "GROUP BY source"
        )
    )
    assert warned == {"warned": EXPECTED_WARNED}
    # Every owner was told once of their released customers and once of the warned ones.
    told = crash_db.rows(
        f"SELECT kind, COUNT(DISTINCT recipient_id), COUNT(*) FROM {NOTIFICATION} GROUP BY kind "
        "ORDER BY kind"
    )
    assert told == [("pool_released", REPS, REPS), ("pool_warning", REPS, REPS)]

    # A third run has nothing left to do.
    again = crash_db.kedun("pool-sweep", "--now", NOW.isoformat(), "--batch", str(BATCH))
    report = json.loads(again.stdout.strip().splitlines()[-1])
    assert (report["released"], report["warned"]) == (0, 0)

    verify = crash_db.kedun("audit", "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.startswith("OK")
