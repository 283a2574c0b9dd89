"""The keyed chain: someone with only database access — a PostgreSQL superuser, or whoever can
open the SQLite file — can neither append nor rewrite an event that verifies; events written
before keying began still verify; checkpoints ship out of the database."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib
import json
import os
import stat

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.utils import translation

from kedun.audit import triggers
from kedun.audit.chain import (
    ChainHmac,
    audit_key,
    audit_key_forget,
    canonical_json,
    chain_head,
    chain_verify,
    event_hash,
    event_hash_of,
)
from kedun.audit.models import GENESIS_HASH, AuditChainKeying, AuditEvent
from kedun.audit.services import audit_record
from kedun.audit.tasks import audit_checkpoint_periodic
from kedun.core import clock

pytestmark = pytest.mark.django_db

_COLUMNS = (
    "seq, occurred_at, actor_id, actor_label, action, object_type, object_id, changes, ip, "
    "prev_hash, hash"
)


@pytest.fixture(autouse=True)
def _messages_in_english():
    """Messages are asserted by their English msgids, whatever the .po files say."""
    with translation.override("en"):
        yield


def record_events(count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        with transaction.atomic():
            audit_record(actor=None, action="test.event", object_id=number, changes={"n": number})


def superuser_sql(sql: str, params: list | None = None) -> None:
    """What a database administrator does: lift the append-only triggers and write SQL."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A superuser's way: switch every user trigger of the table off for the session.
            cursor.execute(f"ALTER TABLE {triggers.TABLE} DISABLE TRIGGER USER")
            cursor.execute(f"ALTER TABLE {triggers.KEYING_TABLE} DISABLE TRIGGER USER")
            try:
                cursor.execute(sql, params or [])
            finally:
                cursor.execute(f"ALTER TABLE {triggers.TABLE} ENABLE TRIGGER USER")
                cursor.execute(f"ALTER TABLE {triggers.KEYING_TABLE} ENABLE TRIGGER USER")
        else:
            with triggers.suspended(connection):
                cursor.execute(sql, params or [])


def forged_append(*, hash_with: str) -> int:
    """Append the next event as an administrator would, with a hash made without Kedun's key:
    `plain` recomputes the plain SHA-256 of the content, `guessed-key` makes a well-formed
    HMAC-SHA-256 of the keyed content under a key of the forger's own."""
    head_seq, head_hash = chain_head()
    seq = head_seq + 1
    occurred_at = clock.now()
    fields = {
        "seq": seq,
        "occurred_at": occurred_at,
        "actor_id": None,
        "actor_label": "boss",
        "action": "customer.transferred",
        "object_type": "customers.customer",
        "object_id": "7",
        "changes": canonical_json({"owner": [3, 4]}),
        "ip": "10.0.0.1",
        "prev_hash": head_hash,
    }
    if hash_with == "plain":
        digest = event_hash(**fields, keyed=False)
    else:
        content = json.dumps(
            [2, seq, occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds")]
            + [fields[name] for name in list(fields)[2:]],
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        digest = hmac.digest(b"the forger's own key" * 2, content, "sha256").hex()
    superuser_sql(
        f"INSERT INTO {triggers.TABLE} ({_COLUMNS}) VALUES "
        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        [*fields.values(), digest],
    )
    return seq


def test_new_events_are_keyed_not_plain_sha256():
    record_events(2)
    event = AuditEvent.objects.get(seq=2)
    assert event.hash == event_hash_of(event)
    assert event.hash != event_hash_of(event, keyed=False)
    assert chain_verify().ok


def test_an_administrator_appending_with_a_recomputed_sha256_is_named(tmp_path, capsys):
    record_events(3)
    before = tmp_path / "before.json"
    call_command("audit", "checkpoint", "--to", str(before))
    forged = forged_append(hash_with="plain")
    assert forged == 4
    result = chain_verify()
    assert not result.ok
    assert result.broken_seq == 4
    assert "plain SHA-256" in result.reason and "without the key" in result.reason
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit", "verify", "--checkpoint", str(before))
    assert exit_info.value.code == 1
    assert "BROKEN at entry 4" in capsys.readouterr().out


def test_an_administrator_appending_a_well_formed_hash_without_the_key_is_named(capsys):
    record_events(3)
    forged_append(hash_with="guessed-key")
    event = AuditEvent.objects.get(seq=4)
    assert len(event.hash) == 64 and int(event.hash, 16) >= 0  # looks like any other
    result = chain_verify()
    assert not result.ok
    assert result.broken_seq == 4
    assert "written without the audit key" in result.reason
    with pytest.raises(SystemExit):
        call_command("audit", "verify")
    assert "BROKEN at entry 4" in capsys.readouterr().out


def test_an_event_rewritten_with_a_recomputed_sha256_is_named():
    record_events(4)
    event = AuditEvent.objects.get(seq=2)
    event.changes = canonical_json({"n": "hidden"})
    superuser_sql(
        f"UPDATE {triggers.TABLE} SET changes = %s, hash = %s WHERE seq = 2",
        [event.changes, event_hash_of(event, keyed=False)],
    )
    result = chain_verify()
    assert result.broken_seq == 2
    assert "plain SHA-256" in result.reason


def test_events_from_before_keying_still_verify_and_are_sealed_by_the_keyed_ones():
    # A chain from before migration 0004: three plain events; keying begins at entry 4.
    superuser_sql(f"DELETE FROM {triggers.KEYING_TABLE}")
    prev = GENESIS_HASH
    moment = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
    for seq in (1, 2, 3):
        event = AuditEvent(
            seq=seq,
            occurred_at=moment + dt.timedelta(minutes=seq),
            actor_label="system",
            action="legacy.event",
            changes=canonical_json({"n": seq}),
            prev_hash=prev,
        )
        event.hash = event_hash_of(event, keyed=False)
        with transaction.atomic():
            event.save(force_insert=True)
        prev = event.hash
    # Migration 0004 records where keying begins: at the head as it stands.
    migration = importlib.import_module("kedun.audit.migrations.0004_chain_keying")
    with transaction.atomic():
        migration.keying_begins(django_apps, None)
    marker = AuditChainKeying.objects.get()
    assert (marker.first_keyed_seq, marker.prev_hash) == (4, prev)
    record_events(2)
    result = chain_verify()
    assert result.ok and result.count == 5
    assert AuditEvent.objects.get(seq=5).hash == event_hash_of(AuditEvent.objects.get(seq=5))

    # An administrator rewrites the plain era consistently (entries 2 and 3 recomputed): the
    # first keyed entry, which covers entry 3's hash, names the rewrite.
    rows = list(AuditEvent.objects.filter(seq__in=[2, 3]).order_by("seq"))
    prev = AuditEvent.objects.get(seq=1).hash
    for row in rows:
        row.changes = canonical_json({"n": "rewritten"})
        row.prev_hash = prev
        row.hash = event_hash_of(row, keyed=False)
        superuser_sql(
            f"UPDATE {triggers.TABLE} SET changes = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [row.changes, row.prev_hash, row.hash, row.seq],
        )
        prev = row.hash
    result = chain_verify()
    assert not result.ok
    assert result.broken_seq == 4


def test_moving_where_keying_began_is_caught():
    record_events(3)
    # Pass the whole chain off as plain: recompute every hash and move the marker past it.
    prev = GENESIS_HASH
    for event in AuditEvent.objects.order_by("seq"):
        event.prev_hash = prev
        event.hash = event_hash_of(event, keyed=False)
        superuser_sql(
            f"UPDATE {triggers.TABLE} SET prev_hash = %s, hash = %s WHERE seq = %s",
            [event.prev_hash, event.hash, event.seq],
        )
        prev = event.hash
    superuser_sql(f"UPDATE {triggers.KEYING_TABLE} SET first_keyed_seq = 4, prev_hash = %s", [prev])
    result = chain_verify()
    assert not result.ok
    assert "where keying began was altered" in result.reason


def test_a_deleted_keying_marker_is_caught_and_not_recorded_again():
    record_events(2)
    superuser_sql(f"DELETE FROM {triggers.KEYING_TABLE}")
    result = chain_verify()
    assert not result.ok
    assert "where keying began is missing" in result.reason
    # The next append must not record a fresh marker under the existing chain.
    record_events(1, start=2)
    assert not AuditChainKeying.objects.exists()
    assert not chain_verify().ok


def test_the_keying_marker_is_append_only():
    from django.db import DatabaseError

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditChainKeying.objects.update(first_keyed_seq=99)


def test_another_key_does_not_verify_the_chain(settings):
    record_events(2)
    settings.AUDIT_KEY = "another installation's key, long enough to use"
    audit_key_forget()
    try:
        result = chain_verify()
        assert not result.ok
        assert result.broken_seq == 1
    finally:
        settings.AUDIT_KEY = ""
        audit_key_forget()
    assert chain_verify().ok


def test_the_key_file_is_made_on_first_use_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "audit_hmac_key"
    with override_settings(AUDIT_KEY="", AUDIT_HMAC_KEY_FILE=path):
        audit_key_forget()
        try:
            key = audit_key()
        finally:
            audit_key_forget()
    assert path.read_text().encode() == key and len(key) >= 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_the_environment_key_wins_over_the_file(tmp_path):
    with override_settings(AUDIT_KEY="k" * 40, AUDIT_HMAC_KEY_FILE=tmp_path / "unused"):
        audit_key_forget()
        try:
            assert audit_key() == b"k" * 40
        finally:
            audit_key_forget()
    assert not (tmp_path / "unused").exists()


def test_checkpoint_to_a_file_and_verify_against_it(tmp_path, capsys):
    record_events(3)
    path = tmp_path / "elsewhere" / "head.json"
    call_command("audit", "checkpoint", "--to", str(path))
    assert f"written to {path}" in capsys.readouterr().out
    data = json.loads(path.read_text())
    assert data["seq"] == 3 and len(data["signature"]) == 64
    record_events(2, start=3)
    call_command("audit", "verify", "--checkpoint", str(path))
    assert "matches checkpoint at entry 3" in capsys.readouterr().out


def test_checkpoint_into_a_directory_gets_a_dated_name(tmp_path, capsys):
    record_events(1)
    call_command("audit", "checkpoint", "--to", f"{tmp_path}/")
    (written,) = tmp_path.glob("kedun-audit-*-1.json")
    assert json.loads(written.read_text())["seq"] == 1


def test_an_unwritable_checkpoint_place_is_a_clear_error(tmp_path):
    from django.core.management.base import CommandError

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(CommandError, match="cannot write the checkpoint"):
        call_command("audit", "checkpoint", "--to", str(blocker / "head.json"))


def test_the_worker_ships_checkpoints_on_schedule(tmp_path, settings):
    from django.utils import timezone

    record_events(2)
    settings.KEDUN_AUDIT_CHECKPOINT_TO = str(tmp_path)
    settings.KEDUN_AUDIT_CHECKPOINT_HOURS = 6
    at = timezone.make_aware(dt.datetime(2026, 6, 1, 7, 50))
    with clock.frozen_at(at):
        audit_checkpoint_periodic()  # 07:50 local: not a sixth hour
    assert list(tmp_path.iterdir()) == []
    with clock.frozen_at(at.replace(hour=12)):
        audit_checkpoint_periodic()
    (shipped,) = tmp_path.iterdir()
    assert json.loads(shipped.read_text())["seq"] == 2
    settings.KEDUN_AUDIT_CHECKPOINT_TO = ""
    with clock.frozen_at(at.replace(hour=18)):
        audit_checkpoint_periodic()
    assert len(list(tmp_path.iterdir())) == 1


def test_plain_and_keyed_hashes_differ_by_the_key_only():
    # The keyed content is the plain content with version 2: without the key, the plain
    # SHA-256 of either is all a forger can compute.
    fields = dict(
        seq=1,
        occurred_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        actor_id=None,
        actor_label="x",
        action="a",
        object_type="",
        object_id="",
        changes="{}",
        ip="",
        prev_hash=GENESIS_HASH,
    )
    keyed = event_hash(**fields)
    assert keyed != event_hash(**fields, keyed=False)
    assert keyed != hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("key", [b"", b"k" * 32, b"k" * 64, b"k" * 65, bytes(range(200))])
def test_the_chain_hmac_is_standard_hmac_sha256(key):
    content = '[2,1,"客盾"]'.encode()
    assert ChainHmac(key).hexdigest(content) == hmac.digest(key, content, "sha256").hex()


def test_checkpoints_ship_to_an_s3_url_and_verify_from_it(settings, capsys):
    import boto3
    import moto  # a dev dependency: S3 in memory

    settings.KEDUN_S3_ENDPOINT_URL = None
    settings.KEDUN_S3_REGION = "us-east-1"
    settings.KEDUN_S3_ACCESS_KEY = "testing"
    settings.KEDUN_S3_SECRET_KEY = "testing"
    record_events(3)
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="kedun-checkpoints")
        call_command("audit", "checkpoint", "--to", "s3://kedun-checkpoints/audit/")
        written = capsys.readouterr().out.strip().rsplit(" ", 1)[-1]
        (listed,) = s3.list_objects_v2(Bucket="kedun-checkpoints")["Contents"]
        assert written == f"s3://kedun-checkpoints/{listed['Key']}"
        assert listed["Key"].startswith("audit/kedun-audit-")
        record_events(1, start=3)
        call_command("audit", "verify", "--checkpoint", written)
        assert "matches checkpoint at entry 3" in capsys.readouterr().out


def test_migrating_an_installation_keys_the_chain_after_its_existing_events(transactional_db):
    # The installation as it was before keying: audit at 0003, three plain events.
    call_command("migrate", "audit", "0003_access_events", verbosity=0)
    try:
        prev = GENESIS_HASH
        for seq in (1, 2, 3):
            event = AuditEvent(
                seq=seq,
                occurred_at=clock.now(),
                actor_label="system",
                action="legacy.event",
                changes=canonical_json({"n": seq}),
                prev_hash=prev,
            )
            event.hash = event_hash_of(event, keyed=False)
            with transaction.atomic():
                event.save(force_insert=True)
            prev = event.hash
    finally:
        call_command("migrate", "audit", verbosity=0)
    marker = AuditChainKeying.objects.get()
    assert (marker.first_keyed_seq, marker.prev_hash) == (4, prev)
    record_events(2)
    assert AuditEvent.objects.get(seq=4).hash == event_hash_of(AuditEvent.objects.get(seq=4))
    result = chain_verify()
    assert result.ok and result.count == 5
