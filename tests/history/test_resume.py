"""An import killed halfway (SIGKILL) and run again ends exactly where one clean import ends:
every record, every count, the audit trail whole (issue 12: "resumable after a kill").

`kedun import-history FILE --batch 50` runs in a subprocess against a database of its own, as
the pool sweep's crash test does (tests/lifecycle/test_sweep_crash.py): a SQLite file in a
temporary data directory, or — when the suite runs on PostgreSQL (KEDUN_DATABASE_URL) — a
fresh database. One database is migrated once and copied for each run (the SQLite file, or
PostgreSQL's CREATE DATABASE … TEMPLATE). A clean import is the reference; each killed run is
compared with it record by record (by codes, names and moments: PostgreSQL's sequences skip
the ids of a rolled-back batch). About a minute.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kedun.history.models import ImportedLine
from tests.history.builder import busy_company
from tests.lifecycle.test_sweep_crash import ROOT, CrashDatabase

BATCH = 50
LINES = ImportedLine._meta.db_table


class HistoryDatabase(CrashDatabase):
    """A crash database made as a copy of a migrated one."""

    def __init__(self, data_dir: Path, template: HistoryDatabase | None = None) -> None:
        super().__init__(data_dir)
        self.data_dir = data_dir
        self.template = template
        if self.url:  # named for what it is, next to the suite's own database
            parts = urllib.parse.urlsplit(self.url)
            self.name = f"kedun_history_resume_{uuid.uuid4().hex[:10]}"
            self.url = urllib.parse.urlunsplit(parts._replace(path=f"/{self.name}"))
            self.env["KEDUN_DATABASE_URL"] = self.url

    def create(self) -> None:
        if self.template is None:
            super().create()
            return
        if self.url:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template.name}"')
        # The data dir too, on both engines: it holds the audit key the copied chain is
        # keyed with (a fresh key would not verify the template's events).
        shutil.copytree(self.template.data_dir, self.data_dir, dirs_exist_ok=True)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def import_command(self, path: Path) -> list[str]:
        return [sys.executable, "-m", "kedun", "import-history", str(path), "--batch", str(BATCH)]

    def import_history(self, path: Path) -> dict[str, Any]:
        done = self.kedun("import-history", str(path), "--batch", str(BATCH))
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    def records(self, import_began: dt.datetime) -> dict[str, Any]:
        done = self.python(
            "from tests.history.snapshot import print_records; "
            f"print_records({import_began.isoformat()!r})"
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    def kill_when(self, path: Path, *, committed: int) -> int:
        """Start the import, SIGKILL it once at least `committed` lines are in; returns how
        many lines were in after the kill."""
        process = subprocess.Popen(
            self.import_command(path),
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        give_up = time.monotonic() + 180
        try:
            while self.scalar(f"SELECT COUNT(*) FROM {LINES}") < committed:
                assert process.poll() is None, (
                    f"the import ended before it was killed: {process.communicate()}"
                )
                assert time.monotonic() < give_up, f"fewer than {committed} lines in 3 minutes"
                time.sleep(0.005)
            process.send_signal(signal.SIGKILL)
        finally:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL
        return self.scalar(f"SELECT COUNT(*) FROM {LINES}")


@pytest.fixture(scope="module")
def history_file(tmp_path_factory) -> Path:
    history = busy_company(seed=11, customers=150, days=70, per_day=30)
    return history.write(tmp_path_factory.mktemp("history") / "history.jsonl.gz")


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Iterator[HistoryDatabase]:
    database = HistoryDatabase(tmp_path_factory.mktemp("template") / "var")
    database.create()
    try:
        done = database.kedun("migrate", "--noinput")
        assert done.returncode == 0, done.stderr
        yield database
    finally:
        database.drop()


@pytest.fixture(scope="module")
def import_began() -> dt.datetime:
    """Moments from here on are the import's own clock (rows stored, placeholders made)."""
    return dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)


@pytest.fixture(scope="module")
def clean(migrated, history_file, import_began, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """One import from start to end, undisturbed: its summary and its records."""
    database = HistoryDatabase(tmp_path_factory.mktemp("clean") / "var", template=migrated)
    database.create()
    try:
        summary = database.import_history(history_file)
        assert summary["bad_lines"] == 0
        records = database.records(import_began)
        # Something to compare in every table the import writes, and a sound audit chain.
        assert [name for name, rows in records.items() if not rows] == []
        assert records["audit_chain_verifies"] is True
        yield {"summary": summary, "records": records}
    finally:
        database.drop()


@pytest.fixture
def crash_db(migrated, tmp_path) -> Iterator[HistoryDatabase]:
    database = HistoryDatabase(tmp_path / "var", template=migrated)
    database.create()
    try:
        yield database
    finally:
        database.drop()


# Kill points, as lines committed: in the first batches (departments, users, products and
# customers: 168 lines), halfway through the events, and twice in one import (a rerun killed
# again, late).
KILLS = {
    "among the customers": [BATCH],
    "halfway, then late in the rerun": [1900, 3500],
}


@pytest.mark.parametrize("kills", KILLS.values(), ids=KILLS.keys())
def test_an_import_killed_and_run_again_ends_as_one_clean_import(
    crash_db, clean, history_file, import_began, kills
):
    total = clean["summary"]["lines"]
    committed = 0
    for at_least in kills:
        committed = crash_db.kill_when(history_file, committed=at_least)
        # Whole batches only: what a batch wrote is in with its lines' digests, or not at all.
        assert at_least <= committed < total
        assert committed % BATCH == 0
    if kills == [BATCH]:
        assert committed < 168, "the kill was meant to fall among the customers"
    crash_db.close()

    summary = crash_db.import_history(history_file)

    assert summary["bad_lines"] == 0
    assert summary["already_imported"] == committed
    assert summary["imported"] == clean["summary"]["imported"] - committed
    records = crash_db.records(import_began)
    assert records.keys() == clean["records"].keys()
    for name, expected in clean["records"].items():
        assert records[name] == expected, name
