"""Backup and restore: one archive (database snapshot, data dir files, keys, manifest with
checksums) taken while Kedun writes, restored into an empty installation, where the audit chain
verifies against a checkpoint taken before the backup.

The drills restore with the real `kedun` command in a fresh data dir (and, on PostgreSQL, a
fresh database), as an operator would. CI runs this file on both engines; each drill runs on
the engine the suite is using."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.utils import timezone, translation

from kedun.audit.models import AuditEvent
from kedun.audit.services import audit_record
from kedun.backup.services import MANIFEST, POSTGRES_MEMBER, SQLITE_MEMBER, backup_write
from kedun.backup.tasks import backup_daily
from kedun.core import clock

# Committed writes: the backup reads the database through connections of its own.
pytestmark = pytest.mark.usefixtures("transactional_db")

KEDUN = str(Path(sys.executable).with_name("kedun"))


@pytest.fixture(autouse=True)
def _errors_in_english():
    """In-process errors are asserted by their English msgids; the commands run as their own
    processes speak the company's language (Simplified Chinese)."""
    with translation.override("en"):
        yield


def record_events(count: int) -> None:
    for number in range(count):
        with transaction.atomic():
            audit_record(actor=None, action="test.event", object_id=number, changes={"n": number})


def kedun(
    *args: str, data_dir: Path, database_url: str | None = None
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEDUN_")}
    env["DJANGO_SETTINGS_MODULE"] = "kedun.config.settings"
    env["KEDUN_DATA_DIR"] = str(data_dir)
    if database_url:
        env["KEDUN_DATABASE_URL"] = database_url
    return subprocess.run(
        [KEDUN, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


class Writer(threading.Thread):
    """The application at work: audit events appended, one transaction each, until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.written = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                with transaction.atomic():
                    audit_record(actor=None, action="test.during_backup", object_id=self.written)
                self.written += 1
        except BaseException as error:
            self.error = error
        finally:
            connections.close_all()

    def wait_for(self, count: int) -> None:
        while self.written < count and self.error is None and self.is_alive():
            self.stop.wait(0.01)


def drill(tmp_path: Path, *, database_url: str | None) -> None:
    record_events(5)
    upload = Path(settings.MEDIA_ROOT) / "backup-drill" / f"{uuid.uuid4().hex}.txt"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_text("名片 — a customer's card", encoding="utf-8")
    checkpoint = tmp_path / "before-backup.json"
    call_command("audit", "checkpoint", "--to", str(checkpoint))
    archive = tmp_path / "kedun.tar.gz"

    writer = Writer()
    writer.start()
    try:
        writer.wait_for(20)
        before = AuditEvent.objects.count()
        result = backup_write(archive)
        after = AuditEvent.objects.count()
        writer.wait_for(writer.written + 20)
    finally:
        writer.stop.set()
        writer.join(timeout=60)
    assert writer.error is None
    assert after > before, "the writer kept writing while the backup ran"
    assert before <= result.audit_seq <= after

    with tarfile.open(archive) as opened:
        names = opened.getnames()
        manifest = json.load(opened.extractfile(MANIFEST))
    assert names[-1] == MANIFEST
    assert "data/audit_hmac_key" in names and "data/secret_key" in names
    assert f"data/media/backup-drill/{upload.name}" in names
    assert all(len(member["sha256"]) == 64 for member in manifest["members"])

    target = tmp_path / "restored-data"
    done = kedun("restore", str(archive), data_dir=target, database_url=database_url)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["audit_ok"] is True
    assert summary["audit_events"] == result.audit_seq  # the snapshot, whole and consistent
    restored_upload = target / "media" / "backup-drill" / upload.name
    assert restored_upload.read_text(encoding="utf-8") == upload.read_text(encoding="utf-8")
    assert (target / "audit_hmac_key").read_bytes() == Path(
        settings.AUDIT_HMAC_KEY_FILE
    ).read_bytes()

    verified = kedun(
        "audit",
        "verify",
        "--checkpoint",
        str(checkpoint),
        data_dir=target,
        database_url=database_url,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "matches checkpoint at entry 5" in verified.stdout

    again = kedun("restore", str(archive), data_dir=target, database_url=database_url)
    assert again.returncode != 0
    assert "数据库不是空的" in again.stderr  # the command speaks the company's language
    shutil.rmtree(upload.parent, ignore_errors=True)


def test_restore_drill_on_sqlite(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite drill runs when the suite runs on SQLite (make test)")
    drill(tmp_path, database_url=None)


def test_restore_drill_on_postgresql(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL drill runs when the suite runs on PostgreSQL (.ci/run)")
    missing = [tool for tool in ("pg_dump", "pg_restore") if not shutil.which(tool)]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not installed: backups of PostgreSQL need them "
            "(Debian: apt-get install postgresql-client)"
        )
    params = connection.settings_dict
    name = f"kedun_restore_drill_{os.getpid()}"
    base = f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}"
    maintenance = connection.get_new_connection(
        {**connection.get_connection_params(), "dbname": "postgres"}
    )
    maintenance.autocommit = True
    try:
        maintenance.execute(f'DROP DATABASE IF EXISTS "{name}"')
        maintenance.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
        drill(tmp_path, database_url=f"{base}/{name}")
    finally:
        maintenance.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        maintenance.close()


def test_restore_refuses_a_database_that_is_not_empty(tmp_path):
    record_events(1)
    archive = tmp_path / "kedun.tar"
    backup_write(archive)
    with pytest.raises(CommandError, match="the database is not empty"):
        call_command("restore", str(archive))


def test_restore_refuses_a_data_dir_that_is_not_empty(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("an empty PostgreSQL database is the drill's; the data dir check is shared")
    archive = tmp_path / "kedun.tar"
    backup_write(archive)
    target = tmp_path / "someone-elses"
    (target / "media").mkdir(parents=True)
    (target / "media" / "contract.pdf").write_bytes(b"%PDF")
    done = kedun("restore", str(archive), data_dir=target)
    assert done.returncode != 0
    assert "不是空的（media/contract.pdf）" in done.stderr
    assert not (target / "kedun.sqlite3").exists()


def rewrite(archive: Path, out: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Copy an archive member by member, letting `change(name, data)` alter the bytes."""
    with tarfile.open(archive) as source, tarfile.open(out, "w") as target:
        for info in source:
            data = source.extractfile(info).read()
            data = change(info.name, data)
            info.size = len(data)
            target.addfile(info, io.BytesIO(data))


def test_a_damaged_backup_is_refused_before_anything_is_written(tmp_path):
    archive = tmp_path / "kedun.tar"
    backup_write(archive)
    damaged = tmp_path / "damaged.tar"
    rewrite(
        archive,
        damaged,
        lambda name, data: data[:-1] + b"!" if name == "data/secret_key" else data,
    )
    with pytest.raises(CommandError, match="data/secret_key does not match its checksum"):
        call_command("restore", str(damaged))


def test_a_backup_naming_a_file_outside_the_data_dir_is_refused(tmp_path):
    archive = tmp_path / "evil.tar"
    payload = b"owned"
    manifest = {
        "format": 1,
        "engine": connection.vendor,
        "database": {"sqlite": SQLITE_MEMBER, "postgresql": POSTGRES_MEMBER}[connection.vendor],
        "audit_head": {"seq": 0, "hash": "0" * 64},
        "created_at": "2026-12-01T00:00:00+00:00",
        "members": [{"name": "data/../../evil", "size": 5, "sha256": "x"}],
    }
    with tarfile.open(archive, "w") as out:
        for name, data in (("data/../../evil", payload), (MANIFEST, json.dumps(manifest).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    with pytest.raises(CommandError, match="outside its place"):
        call_command("restore", str(archive))


def test_not_a_backup_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tar at all")
    with pytest.raises(CommandError, match="cannot read the backup"):
        call_command("restore", str(junk))


def test_the_nightly_backup_runs_at_its_hour_and_keeps_the_newest(tmp_path, settings):
    settings.KEDUN_BACKUP_DIR = tmp_path
    settings.KEDUN_BACKUP_KEEP = 2
    settings.KEDUN_BACKUP_HOUR = 3
    record_events(1)
    night = timezone.make_aware(timezone.datetime(2026, 6, 1, 3, 30))
    with clock.frozen_at(night.replace(hour=4)):
        backup_daily()
    assert list(tmp_path.iterdir()) == []
    for day in (1, 2, 3):
        with clock.frozen_at(night.replace(day=day)):
            backup_daily()
    kept = sorted(path.name for path in tmp_path.iterdir())
    assert kept == ["kedun-backup-20260602-033000.tar.gz", "kedun-backup-20260603-033000.tar.gz"]
    settings.KEDUN_BACKUP_KEEP = 0
    with clock.frozen_at(night.replace(day=4)):
        backup_daily()
    assert len(list(tmp_path.iterdir())) == 2
