"""The audit chain: every event hash-linked, tampering named, the table append-only."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction

from kedun.audit import triggers
from kedun.audit.chain import (
    CheckpointInvalid,
    chain_head,
    chain_verify,
    checkpoint_parse,
    checkpoint_sign,
    event_hash_of,
)
from kedun.audit.models import GENESIS_HASH, AuditEvent
from kedun.audit.services import AuditOutsideTransaction, audit_record
from kedun.core.request_context import client_ip

pytestmark = pytest.mark.django_db


def record_events(count: int) -> None:
    for number in range(count):
        with transaction.atomic():
            audit_record(
                actor=None,
                action="test.event",
                object_type="test",
                object_id=number,
                changes={"n": number, "名称": "客盾"},
            )


def raw(sql: str, params: list | None = None) -> None:
    """Tamper as someone with direct database access would: triggers dropped first."""
    with triggers.suspended(connection), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def test_events_link_each_to_the_previous_one():
    record_events(3)
    events = list(AuditEvent.objects.order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    result = chain_verify()
    assert result.ok and result.count == 3 and result.head_seq == 3


def test_an_event_records_actor_time_object_changes_and_ip(cast):
    token = client_ip.set("203.0.113.9")
    try:
        with transaction.atomic():
            event = audit_record(
                actor=cast.boss,
                action="user.updated",
                target=cast.east_rep,
                changes={"role": ["sales", "manager"]},
            )
    finally:
        client_ip.reset(token)
    event.refresh_from_db()
    assert event.actor_id == cast.boss.pk
    assert event.actor_label == "boss"
    assert event.object_type == "org.user"
    assert event.object_id == str(cast.east_rep.pk)
    assert event.changes_data == {"role": ["sales", "manager"]}
    assert event.ip == "203.0.113.9"
    assert event.occurred_at.utcoffset().total_seconds() == 0
    assert event.hash == event_hash_of(event)


def test_recording_outside_a_transaction_is_refused(transactional_db):
    with pytest.raises(AuditOutsideTransaction):
        audit_record(actor=None, action="test.event")
    assert AuditEvent.objects.count() == 0


def test_an_event_rolls_back_with_the_write_it_records():
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=None, action="test.event")
        raise RuntimeError("the write failed")
    assert AuditEvent.objects.count() == 0
    assert chain_verify().ok


def test_an_edited_field_is_caught_and_named():
    record_events(5)
    raw("UPDATE audit_auditevent SET changes = %s WHERE seq = 3", ['{"n":99}'])
    result = chain_verify()
    assert not result.ok
    assert result.broken_seq == 3
    assert "entry 3 does not match its hash" in result.reason
    assert result.count == 2


def test_an_edited_actor_is_caught():
    record_events(4)
    raw("UPDATE audit_auditevent SET actor_label = 'someone_else' WHERE seq = 2")
    assert chain_verify().broken_seq == 2


def test_a_deleted_middle_row_is_caught_and_named():
    record_events(6)
    raw("DELETE FROM audit_auditevent WHERE seq = 4")
    result = chain_verify()
    assert not result.ok
    assert result.broken_seq == 4
    assert "entry 4 missing (deleted)" in result.reason


def test_two_swapped_rows_are_caught_at_the_first():
    record_events(6)
    # Swap rows 2 and 5 by exchanging their positions in the chain.
    raw("UPDATE audit_auditevent SET seq = -2 WHERE seq = 2")
    raw("UPDATE audit_auditevent SET seq = 2 WHERE seq = 5")
    raw("UPDATE audit_auditevent SET seq = 5 WHERE seq = -2")
    result = chain_verify()
    assert not result.ok
    assert result.broken_seq == 2


def test_a_forged_row_inserted_in_the_middle_is_named():
    record_events(5)
    # The forger shifts entries 3.. up by one and writes a self-consistent entry 3 that links
    # to entry 2 — everything a forger without the rest of the chain can do.
    raw("UPDATE audit_auditevent SET seq = seq + 100 WHERE seq >= 3")
    raw("UPDATE audit_auditevent SET seq = seq - 99 WHERE seq >= 103")
    entry2 = AuditEvent.objects.get(seq=2)
    forged = AuditEvent(
        seq=3,
        occurred_at=entry2.occurred_at,
        actor_id=None,
        actor_label="boss",
        action="customer.transferred",
        object_type="customers.customer",
        object_id="7",
        changes='{"owner":[1,2]}',
        ip="",
        prev_hash=entry2.hash,
    )
    forged.hash = event_hash_of(forged)
    forged.save(force_insert=True)
    result = chain_verify()
    assert not result.ok
    assert result.broken_seq == 3
    assert "inserted" in result.reason


def test_a_truncated_tail_is_caught_with_a_checkpoint():
    record_events(6)
    seq, head_hash = chain_head()
    checkpoint = checkpoint_sign(seq=seq, hash=head_hash, created_at="2026-11-27T00:00:00Z")
    raw("DELETE FROM audit_auditevent WHERE seq >= 5")
    assert chain_verify().ok  # without the checkpoint, a shorter chain looks whole
    result = chain_verify(checkpoint=checkpoint_parse(checkpoint.to_json()))
    assert not result.ok
    assert result.broken_seq == 5
    assert "truncated" in result.reason


def test_a_rewritten_chain_is_caught_with_a_checkpoint():
    record_events(4)
    seq, head_hash = chain_head()
    checkpoint = checkpoint_sign(seq=seq, hash=head_hash, created_at="2026-11-27T00:00:00Z")
    # Rewrite the whole chain consistently (what someone who holds the audit key could do).
    rows = list(AuditEvent.objects.order_by("seq"))
    raw("DELETE FROM audit_auditevent")
    prev = GENESIS_HASH
    for row in rows:
        row.changes = '{"n":"rewritten"}'
        row.prev_hash = prev
        row.hash = event_hash_of(row)
        row.save(force_insert=True)
        prev = row.hash
    assert chain_verify().ok
    result = chain_verify(checkpoint=checkpoint)
    assert not result.ok
    assert "rewritten" in result.reason


def test_a_checkpoint_with_a_forged_signature_is_refused():
    record_events(1)
    seq, head_hash = chain_head()
    genuine = checkpoint_sign(seq=seq, hash=head_hash, created_at="2026-11-27T00:00:00Z")
    forged = genuine.to_json().replace(f'"seq":{seq}', '"seq":99')
    with pytest.raises(CheckpointInvalid, match="signature"):
        checkpoint_parse(forged)
    with pytest.raises(CheckpointInvalid, match="not a Kedun audit checkpoint"):
        checkpoint_parse("{}")


def test_the_database_refuses_update():
    record_events(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(seq=1).update(action="hidden")
    assert AuditEvent.objects.get(seq=1).action == "test.event"


def test_the_database_refuses_delete():
    record_events(2)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = 2")
    assert AuditEvent.objects.count() == 2


def test_the_database_refuses_truncate_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE statement; DELETE is covered above")
    record_events(1)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL kedun.audit_maintenance = 'off'")
        cursor.execute("TRUNCATE audit_auditevent")
    assert AuditEvent.objects.count() == 1


def test_verify_command_exits_non_zero_and_names_the_break(capsys):
    record_events(3)
    call_command("audit", "verify")
    assert "OK: 3 events verified" in capsys.readouterr().out
    raw("UPDATE audit_auditevent SET object_id = '42' WHERE seq = 2")
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit", "verify")
    assert exit_info.value.code == 1
    assert "BROKEN at entry 2" in capsys.readouterr().out


def test_checkpoint_command_round_trips_through_verify(tmp_path, capsys):
    record_events(3)
    call_command("audit", "checkpoint")
    path = tmp_path / "head.json"
    path.write_text(capsys.readouterr().out)
    call_command("audit", "verify", "--checkpoint", str(path))
    assert "matches checkpoint at entry 3" in capsys.readouterr().out
    raw("DELETE FROM audit_auditevent WHERE seq = 3")
    with pytest.raises(SystemExit):
        call_command("audit", "verify", "--checkpoint", str(path))
    assert "entries 3–3 were removed (truncated)" in capsys.readouterr().out


def test_twenty_threads_writing_at_once_keep_one_chain(transactional_db):
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            barrier.wait(timeout=30)
            for step in range(5):
                with transaction.atomic():
                    audit_record(actor=None, action="test.concurrent", object_id=f"{number}-{step}")
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert AuditEvent.objects.count() == 100
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == list(
        range(1, 101)
    )
    assert chain_verify().ok
