"""One archive holds a whole installation: the database and the data dir's files and keys.

The archive is a tar (gzip-compressed when its name ends in .gz or .tgz):

    database/kedun.sqlite3   SQLite, copied with the online backup API (a consistent snapshot
                             while the application keeps writing), or
    database/kedun.pgdump    PostgreSQL, `pg_dump --format=custom` (one snapshot too)
    data/…                   the data dir's files: uploads (media/), keys (secret_key,
                             audit_hmac_key, mail_key) …
    manifest.json            last: format, engine, the audit head in the snapshot, and each
                             member's size and SHA-256

A restore checks every checksum before it writes anything, and goes only into an empty database
and an empty data dir: it never merges one installation into another.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings
from django.db import connection, connections
from django.utils import timezone
from django.utils.translation import gettext as _

from kedun import __version__
from kedun.audit.models import GENESIS_HASH
from kedun.core import clock

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/kedun.sqlite3"
POSTGRES_MEMBER = "database/kedun.pgdump"
DATA_PREFIX = "data/"
NIGHTLY_PREFIX = "kedun-backup-"
NIGHTLY_SUFFIX = ".tar.gz"
_CHUNK = 1024 * 1024


class BackupError(RuntimeError):
    """The backup or restore cannot go on; the message is for the operator."""


@dataclass
class BackupResult:
    path: Path
    engine: str
    files: int
    bytes: int
    audit_seq: int
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "backup": str(self.path),
            "engine": self.engine,
            "files": self.files,
            "bytes": self.bytes,
            "audit_head_seq": self.audit_seq,
            "seconds": round(self.seconds, 2),
        }


@dataclass
class RestoreResult:
    engine: str
    files: int
    created_at: str
    audit_seq: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "restored": True,
            "engine": self.engine,
            "files": self.files,
            "backup_created_at": self.created_at,
            "audit_head_seq": self.audit_seq,
        }


# --- Backup ----------------------------------------------------------------------------------


def backup_write(destination: Path) -> BackupResult:
    """Write the whole installation to `destination` (written beside it, then renamed)."""
    began = time.monotonic()
    destination = destination.expanduser().resolve()
    destination.parent.mkdir(parents=True, exist_ok=True)
    engine = connection.vendor
    with tempfile.TemporaryDirectory(dir=destination.parent, prefix=".kedun-backup-") as work:
        snapshot = Path(work) / "database"
        if engine == "sqlite":
            audit_seq, audit_hash = _sqlite_snapshot(snapshot)
            database_member = SQLITE_MEMBER
        elif engine == "postgresql":
            audit_seq, audit_hash = _postgres_dump(snapshot)
            database_member = POSTGRES_MEMBER
        else:
            raise BackupError(_("backups support SQLite and PostgreSQL, not %s") % engine)
        partial = Path(work) / "archive"
        members: list[dict[str, Any]] = []
        mode = "w:gz" if destination.name.endswith((".gz", ".tgz")) else "w"
        options: dict[str, Any] = {"compresslevel": 6} if mode == "w:gz" else {}
        with tarfile.open(partial, mode, **options) as archive:  # type: ignore[call-overload]
            members.append(_add(archive, snapshot, database_member, mode=0o600))
            for path, name in _data_files(exclude=[destination, Path(work)]):
                try:
                    members.append(_add(archive, path, DATA_PREFIX + name))
                except FileNotFoundError:
                    continue  # removed while we walked (a temporary file): not part of the state
            manifest = {
                "format": FORMAT,
                "kedun_version": __version__,
                "created_at": clock.now().isoformat(timespec="seconds"),
                "engine": engine,
                "database": database_member,
                "audit_head": {"seq": audit_seq, "hash": audit_hash},
                "members": members,
            }
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mtime = int(clock.now().timestamp())
            info.mode = 0o600
            archive.addfile(info, _BytesReader(data))
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(partial, 0o600)  # it holds the keys
        os.replace(partial, destination)
    return BackupResult(
        path=destination,
        engine=engine,
        files=len(members) - 1,
        bytes=destination.stat().st_size,
        audit_seq=audit_seq,
        seconds=time.monotonic() - began,
    )


def _sqlite_snapshot(target: Path) -> tuple[int, str]:
    """A consistent copy of the live database through SQLite's online backup API. One step
    (pages=-1): a read transaction over the whole copy, which in WAL mode never blocks the
    application's writers, and which a concurrent write cannot make restart."""
    name = connection.settings_dict["NAME"]
    source = sqlite3.connect(f"{Path(name).resolve().as_uri()}?mode=ro", uri=True, timeout=60)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy, pages=-1)
        head = copy.execute(
            "SELECT seq, hash FROM audit_auditevent ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        # The copy stands alone: no WAL beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()
        source.close()
    return (int(head[0]), str(head[1])) if head else (0, GENESIS_HASH)


def _pg_environment() -> dict[str, str]:
    """libpq's variables for the configured database: pg_dump and pg_restore read them (a
    password never appears on a command line)."""
    params = connection.settings_dict
    env = dict(os.environ)
    pairs = {
        "PGHOST": params.get("HOST"),
        "PGPORT": params.get("PORT"),
        "PGUSER": params.get("USER"),
        "PGPASSWORD": params.get("PASSWORD"),
        "PGDATABASE": params.get("NAME"),
    }
    options = params.get("OPTIONS") or {}
    if options.get("sslmode"):
        pairs["PGSSLMODE"] = options["sslmode"]
    for key, value in pairs.items():
        if value not in (None, ""):
            env[key] = str(value)
    return env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            _(
                "%(tool)s is not installed: it is needed to back up and restore PostgreSQL "
                "(Debian: apt-get install postgresql-client)"
            )
            % {"tool": name}
        )
    return found


def _postgres_dump(target: Path) -> tuple[int, str]:
    """pg_dump in custom format, of a snapshot exported by a transaction that also reads the
    audit head: the manifest names exactly the head the dump holds."""
    pg_dump = _pg_tool("pg_dump")
    raw = connection.get_new_connection(connection.get_connection_params())
    try:
        raw.autocommit = False
        with raw.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
            cursor.execute("SELECT seq, hash FROM audit_auditevent ORDER BY seq DESC LIMIT 1")
            head = cursor.fetchone()
            done = subprocess.run(
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={target}"],
                env=_pg_environment(),
                capture_output=True,
                text=True,
            )
        raw.rollback()
    finally:
        raw.close()
    if done.returncode != 0:
        raise BackupError(_("pg_dump failed: %s") % done.stderr.strip())
    return (int(head[0]), str(head[1])) if head else (0, GENESIS_HASH)


def _excluded_top_level(name: str) -> bool:
    # The database (it is in the archive through its own snapshot), the job queue (transient:
    # restored jobs would run twice), collected static files (rebuilt from the code).
    if name == "static":
        return True
    return any(
        name.endswith(suffix)
        for suffix in (".sqlite3", ".sqlite3-wal", ".sqlite3-shm", ".sqlite3-journal")
    )


def _data_files(exclude: list[Path]) -> Iterator[tuple[Path, str]]:
    root = Path(settings.DATA_DIR).resolve()
    skipped = {path.resolve() for path in exclude}
    skipped.add(Path(settings.KEDUN_BACKUP_DIR).resolve())
    for directory, subdirectories, files in os.walk(root):
        here = Path(directory)
        subdirectories[:] = sorted(
            name
            for name in subdirectories
            if (here / name).resolve() not in skipped
            and not (here == root and _excluded_top_level(name))
            and not name.startswith((".kedun-backup-", ".kedun-restore-"))
        )
        for name in sorted(files):
            path = here / name
            if path.resolve() in skipped or (here == root and _excluded_top_level(name)):
                continue
            if not path.is_file() or path.is_symlink():
                continue
            yield path, path.relative_to(root).as_posix()


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._at + size
        chunk = self._data[self._at : end]
        self._at += len(chunk)
        return chunk


class _HashingReader:
    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self._handle.read(size)
        self.digest.update(chunk)
        return chunk


def _add(
    archive: tarfile.TarFile, path: Path, name: str, *, mode: int | None = None
) -> dict[str, Any]:
    with open(path, "rb") as handle:
        status = os.fstat(handle.fileno())
        info = tarfile.TarInfo(name)
        info.size = status.st_size
        info.mtime = int(status.st_mtime)
        info.mode = mode if mode is not None else (status.st_mode & 0o777)
        reader = _HashingReader(handle)
        archive.addfile(info, reader)
    return {"name": name, "size": info.size, "sha256": reader.digest.hexdigest()}


# --- Restore ---------------------------------------------------------------------------------


def _manifest_read(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = archive.getmember(MANIFEST)
        handle = archive.extractfile(member)
        assert handle is not None
        manifest = json.loads(handle.read())
    except (KeyError, ValueError, AssertionError):
        raise BackupError(_("this is not a Kedun backup: it has no readable manifest")) from None
    if manifest.get("format") != FORMAT:
        raise BackupError(
            _("this backup's format (%(found)s) is not one this Kedun reads (%(known)s)")
            % {"found": manifest.get("format"), "known": FORMAT}
        )
    expected_database = {"sqlite": SQLITE_MEMBER, "postgresql": POSTGRES_MEMBER}
    if manifest.get("database") != expected_database.get(manifest.get("engine", "")):
        raise BackupError(_("this backup's manifest names no database it could hold"))
    return manifest


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupError(_("the backup names a file outside its place: %s") % name)
    return path


def backup_check(source: Path) -> dict[str, Any]:
    """Read the whole archive and compare every member with the manifest; the manifest."""
    try:
        with tarfile.open(source, "r:*") as archive:
            manifest = _manifest_read(archive)
            expected = {member["name"]: member for member in manifest["members"]}
            seen: set[str] = set()
            for info in archive:
                if info.name == MANIFEST:
                    continue
                _safe_name(info.name)
                if info.name not in expected or not info.isfile():
                    raise BackupError(
                        _("the backup holds %s, which its manifest does not list") % info.name
                    )
                handle = archive.extractfile(info)
                assert handle is not None
                digest = hashlib.sha256()
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
                if digest.hexdigest() != expected[info.name]["sha256"]:
                    raise BackupError(
                        _("%s does not match its checksum: the backup is damaged") % info.name
                    )
                seen.add(info.name)
            missing = sorted(set(expected) - seen)
            if missing:
                raise BackupError(_("the backup lacks %s: it is incomplete") % ", ".join(missing))
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BackupError(
            _("cannot read the backup %(path)s: %(reason)s") % {"path": source, "reason": error}
        ) from None
    return manifest


def _kept_in_an_empty_data_dir(relative: PurePosixPath, database: Path | None) -> bool:
    """Files Kedun makes by itself at start-up: present in any new data dir."""
    top = relative.parts[0]
    if top == "static" or top.startswith((".kedun-restore-", ".kedun-backup-")):
        return True
    if len(relative.parts) == 1 and (top == "secret_key" or top.startswith("jobs.sqlite3")):
        return True
    # The empty SQLite file Django may have opened: the database check decides about it.
    return database is not None and len(relative.parts) == 1 and top.startswith(database.name)


def _data_dir_leftovers(root: Path, source: Path) -> list[str]:
    database = Path(connection.settings_dict["NAME"]) if connection.vendor == "sqlite" else None
    backups = Path(settings.KEDUN_BACKUP_DIR).resolve()
    leftovers = []
    for directory, _subdirectories, files in os.walk(root):
        for name in files:
            path = Path(directory) / name
            if path.resolve() == source.resolve() or backups in path.resolve().parents:
                continue
            relative = PurePosixPath(path.relative_to(root).as_posix())
            if not _kept_in_an_empty_data_dir(relative, database):
                leftovers.append(str(relative))
    return sorted(leftovers)


def _database_tables() -> int:
    if connection.vendor == "sqlite":
        name = Path(connection.settings_dict["NAME"])
        if not name.exists() or name.stat().st_size == 0:
            return 0
        probe = sqlite3.connect(f"{name.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return int(
                probe.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[
                    0
                ]
            )
        finally:
            probe.close()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_catalog.pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        return int(cursor.fetchone()[0])


def restore_target_check(source: Path) -> None:
    """Refuse a database or data dir that holds anything: a restore never merges."""
    tables = _database_tables()
    if tables:
        raise BackupError(
            _(
                "the database is not empty (%(tables)d tables): restore only into a new, empty "
                "database — create one, point Kedun at it, and run the restore again"
            )
            % {"tables": tables}
        )
    root = Path(settings.DATA_DIR).resolve()
    leftovers = _data_dir_leftovers(root, source)
    if leftovers:
        shown = ", ".join(leftovers[:3]) + (" …" if len(leftovers) > 3 else "")
        raise BackupError(
            _(
                "the data dir %(root)s is not empty (%(files)s): restore only into a new, empty "
                "data dir"
            )
            % {"root": root, "files": shown}
        )


def backup_restore(source: Path) -> RestoreResult:
    """Restore `source` into this (empty) installation; every checksum is checked first."""
    source = source.expanduser().resolve()
    if not source.is_file():
        raise BackupError(_("no backup at %s") % source)
    manifest = backup_check(source)
    if manifest["engine"] != connection.vendor:
        raise BackupError(
            _("this backup is of a %(backup)s database; this Kedun is configured for %(here)s")
            % {"backup": manifest["engine"], "here": connection.vendor}
        )
    restore_target_check(source)
    root = Path(settings.DATA_DIR).resolve()
    files = 0
    with tempfile.TemporaryDirectory(dir=root, prefix=".kedun-restore-") as work:
        staging = Path(work)
        with tarfile.open(source, "r:*") as archive:
            for info in archive:
                if info.name == MANIFEST:
                    continue
                target = staging / _safe_name(info.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                handle = archive.extractfile(info)
                assert handle is not None
                with open(target, "wb") as out:
                    shutil.copyfileobj(handle, out, _CHUNK)
                os.chmod(target, info.mode & 0o777 or 0o600)
        database_file = staging / _safe_name(manifest["database"])
        if connection.vendor == "sqlite":
            _sqlite_put(database_file)
        else:
            _postgres_restore(database_file)
        data_root = staging / DATA_PREFIX.rstrip("/")
        if data_root.exists():
            for path in sorted(data_root.rglob("*")):
                if path.is_dir():
                    continue
                destination = root / path.relative_to(data_root)
                destination.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, destination)
                files += 1
    # The restored keys are the installation's keys from now on.
    from kedun.audit.chain import audit_key_forget

    audit_key_forget()
    return RestoreResult(
        engine=manifest["engine"],
        files=files,
        created_at=manifest["created_at"],
        audit_seq=int(manifest["audit_head"]["seq"]),
    )


def _sqlite_put(database_file: Path) -> None:
    target = Path(connection.settings_dict["NAME"])
    connections.close_all()
    for suffix in ("", "-wal", "-shm", "-journal"):
        leftover = Path(f"{target}{suffix}")
        if leftover.exists():
            leftover.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(database_file, target)


def _postgres_restore(dump: Path) -> None:
    pg_restore = _pg_tool("pg_restore")
    env = _pg_environment()
    connections.close_all()
    done = subprocess.run(
        [
            pg_restore,
            "--exit-on-error",
            "--single-transaction",
            "--no-owner",
            f"--dbname={env.get('PGDATABASE', '')}",
            str(dump),
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BackupError(_("pg_restore failed: %s") % done.stderr.strip())


# --- The nightly backup ------------------------------------------------------------------------


def backup_nightly() -> BackupResult | None:
    """Tonight's backup into KEDUN_BACKUP_DIR, keeping the newest KEDUN_BACKUP_KEEP."""
    keep = settings.KEDUN_BACKUP_KEEP
    if not keep:
        return None
    directory = Path(settings.KEDUN_BACKUP_DIR)
    moment = timezone.localtime(clock.now()).strftime("%Y%m%d-%H%M%S")
    result = backup_write(directory / f"{NIGHTLY_PREFIX}{moment}{NIGHTLY_SUFFIX}")
    backups_prune(directory, keep=keep)
    return result


def backups_prune(directory: Path, *, keep: int) -> list[Path]:
    """Remove all but the newest `keep` nightly backups (their names sort by time)."""
    nightly = sorted(
        path for path in directory.glob(f"{NIGHTLY_PREFIX}*{NIGHTLY_SUFFIX}") if path.is_file()
    )
    removed = nightly[:-keep] if keep else []
    for path in removed:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return removed
