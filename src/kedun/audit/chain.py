"""Hashing, verification and signed checkpoints of the audit chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings

from kedun.audit.models import GENESIS_HASH, AuditEvent
from kedun.config.env import key_file

CANONICAL_VERSION = 1


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no spaces: the same data always gives the same text."""
    return json.dumps(
        data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_json_default
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def utc_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def event_hash(
    *,
    seq: int,
    occurred_at: dt.datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    changes: str,
    ip: str,
    prev_hash: str,
) -> str:
    content = json.dumps(
        [
            CANONICAL_VERSION,
            seq,
            utc_text(occurred_at),
            actor_id,
            actor_label,
            action,
            object_type,
            object_id,
            changes,
            ip,
            prev_hash,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def event_hash_of(event: AuditEvent) -> str:
    """The hash an event's own columns call for (its stored prev_hash included)."""
    return event_hash(
        seq=event.seq,
        occurred_at=event.occurred_at,
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        changes=event.changes,
        ip=event.ip,
        prev_hash=event.prev_hash,
    )


# Column order used by verification (values_list is much faster than model instances).
_FIELDS = (
    "seq",
    "occurred_at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "changes",
    "ip",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    created_at: str
    signature: str = ""

    def payload(self) -> bytes:
        return canonical_json(
            {"seq": self.seq, "hash": self.hash, "created_at": self.created_at}
        ).encode()

    def to_json(self) -> str:
        return canonical_json(
            {
                "seq": self.seq,
                "hash": self.hash,
                "created_at": self.created_at,
                "signature": self.signature,
            }
        )


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str = ""


def _hmac_key() -> bytes:
    return key_file(settings.AUDIT_HMAC_KEY_FILE, nbytes=48).encode()


def checkpoint_sign(*, seq: int, hash: str, created_at: str) -> Checkpoint:
    unsigned = Checkpoint(seq=seq, hash=hash, created_at=created_at)
    signature = hmac.new(_hmac_key(), unsigned.payload(), hashlib.sha256).hexdigest()
    return Checkpoint(seq=seq, hash=hash, created_at=created_at, signature=signature)


class CheckpointInvalid(ValueError):
    pass


def checkpoint_parse(text: str) -> Checkpoint:
    try:
        data = json.loads(text)
        checkpoint = Checkpoint(
            seq=int(data["seq"]),
            hash=str(data["hash"]),
            created_at=str(data["created_at"]),
            signature=str(data["signature"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointInvalid(f"not a Kedun audit checkpoint ({error})") from None
    expected = hmac.new(_hmac_key(), checkpoint.payload(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, checkpoint.signature):
        raise CheckpointInvalid(
            "the checkpoint's signature is wrong: it was altered, or made by another installation"
        )
    return checkpoint


def verify_rows(
    rows: Iterable[tuple[Any, ...]], *, checkpoint: Checkpoint | None = None
) -> VerifyResult:
    """Walk the chain in seq order and report the first entry that breaks it."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    # The hash before prev_hash: lets us tell an inserted row from an edited one.
    prev_prev_hash: str | None = None
    count = 0
    checkpoint_hash_at_seq: str | None = None
    for (
        seq,
        occurred_at,
        actor_id,
        actor_label,
        action,
        object_type,
        object_id,
        changes,
        ip,
        stored_prev,
        stored_hash,
    ) in rows:
        if seq != expected_seq:
            if seq > expected_seq:
                missing = (
                    f"entry {expected_seq}"
                    if seq == expected_seq + 1
                    else f"entries {expected_seq}–{seq - 1}"
                )
                return _broken(
                    count,
                    expected_seq - 1,
                    prev_hash,
                    expected_seq,
                    f"{missing} missing (deleted): the chain jumps from entry "
                    f"{expected_seq - 1} to entry {seq}",
                )
            return _broken(
                count, expected_seq - 1, prev_hash, seq, f"entry {seq} appears out of order"
            )
        if stored_prev != prev_hash:
            if prev_prev_hash is not None and stored_prev == prev_prev_hash:
                return _broken(
                    count,
                    seq - 1,
                    prev_hash,
                    seq - 1,
                    f"entry {seq - 1} does not belong to the chain (inserted): "
                    f"entry {seq} links to entry {seq - 2}",
                )
            return _broken(
                count,
                seq - 1,
                prev_hash,
                seq,
                f"entry {seq} does not link to entry {seq - 1} "
                "(an entry was inserted, removed or moved before it)",
            )
        computed = event_hash(
            seq=seq,
            occurred_at=occurred_at,
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            object_type=object_type,
            object_id=object_id,
            changes=changes,
            ip=ip,
            prev_hash=stored_prev,
        )
        if computed != stored_hash:
            return _broken(
                count,
                seq - 1,
                prev_hash,
                seq,
                f"entry {seq} does not match its hash (edited, or moved from "
                "elsewhere in the chain)",
            )
        if checkpoint is not None and seq == checkpoint.seq:
            checkpoint_hash_at_seq = stored_hash
        prev_prev_hash, prev_hash = prev_hash, stored_hash
        expected_seq += 1
        count += 1
    head_seq = expected_seq - 1
    if checkpoint is not None:
        if head_seq < checkpoint.seq:
            first_lost = head_seq + 1
            return _broken(
                count,
                head_seq,
                prev_hash,
                first_lost,
                f"the chain ends at entry {head_seq} but the checkpoint of "
                f"{checkpoint.created_at} names entry {checkpoint.seq}: entries "
                f"{first_lost}–{checkpoint.seq} were removed (truncated)",
            )
        if checkpoint_hash_at_seq != checkpoint.hash:
            return _broken(
                count,
                head_seq,
                prev_hash,
                checkpoint.seq,
                f"entry {checkpoint.seq} differs from the checkpoint of "
                f"{checkpoint.created_at}: the chain was rewritten",
            )
    return VerifyResult(ok=True, count=count, head_seq=head_seq, head_hash=prev_hash)


def _broken(
    count: int, head_seq: int, head_hash: str, broken_seq: int, reason: str
) -> VerifyResult:
    return VerifyResult(
        ok=False,
        count=count,
        head_seq=head_seq,
        head_hash=head_hash,
        broken_seq=broken_seq,
        reason=reason,
    )


def chain_verify(*, checkpoint: Checkpoint | None = None, chunk_size: int = 20_000) -> VerifyResult:
    rows = AuditEvent.objects.order_by("seq").values_list(*_FIELDS).iterator(chunk_size=chunk_size)
    return verify_rows(rows, checkpoint=checkpoint)


def chain_head() -> tuple[int, str]:
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    return head if head else (0, GENESIS_HASH)
