"""Hashing, verification and signed checkpoints of the audit chain.

Two eras share one chain. Events written before keying began (the marker in AuditChainKeying,
recorded by migration 0004 at the head of that day's chain) are plain SHA-256 over their
content: anyone who knows the algorithm can recompute them. From the marker on, each event's
hash is HMAC-SHA-256 under the audit key, which lives outside the database (KEDUN_AUDIT_KEY on
the application servers, else a file in the data dir): someone with only database access can
neither append an event nor rewrite one that verifies. Since every keyed event covers the
previous hash, the keyed era also seals the plain one before it.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings

from kedun.audit.models import GENESIS_HASH, AuditChainKeying, AuditEvent
from kedun.config.env import key_file

# The first element of every hashed content: 1 plain SHA-256, 2 HMAC-SHA-256 under the audit key.
CANONICAL_VERSION = 1
KEYED_VERSION = 2


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


def event_content(
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
    *,
    keyed: bool,
) -> bytes:
    """What an event's hash covers, as bytes: its version, columns and the previous hash.
    Positional: `audit verify` calls it once per event of the whole chain."""
    return json.dumps(
        [
            KEYED_VERSION if keyed else CANONICAL_VERSION,
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
    ).encode("utf-8")


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
    keyed: bool = True,
) -> str:
    """The event's hash: HMAC-SHA-256 under the chain key (keyed), or plain SHA-256 (events
    written before keying began)."""
    content = event_content(
        seq,
        occurred_at,
        actor_id,
        actor_label,
        action,
        object_type,
        object_id,
        changes,
        ip,
        prev_hash,
        keyed=keyed,
    )
    if keyed:
        return chain_hmac().hexdigest(content)
    return hashlib.sha256(content).hexdigest()


def event_hash_of(event: AuditEvent, *, keyed: bool = True) -> str:
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
        keyed=keyed,
    )


# --- The audit key ------------------------------------------------------------------------------


def audit_key() -> bytes:
    """The installation's audit key: KEDUN_AUDIT_KEY if set (the same on every application
    server), else the data dir's key file, created on first use with mode 0600."""
    return _audit_key(settings.AUDIT_KEY, Path(settings.AUDIT_HMAC_KEY_FILE))


@functools.cache
def _audit_key(from_environment: str, path: Path) -> bytes:
    if from_environment:
        return from_environment.encode()
    return key_file(path, nbytes=48).encode()


def audit_key_forget() -> None:
    """Read the key again on next use (a restore has just put another key file in place)."""
    _audit_key.cache_clear()
    _chain_key.cache_clear()
    _chain_hmac.cache_clear()


def chain_key() -> bytes:
    return _chain_key(audit_key())


class ChainHmac:
    """HMAC-SHA-256 under one key, its padded key blocks hashed once: verifying a million events
    then costs two SHA-256 copies each (about 5 µs) instead of a full hmac.digest (about 13 µs,
    which hashes the key blocks again every time). The result is exactly HMAC-SHA-256 (RFC 2104)."""

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        block = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in block))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in block))

    def hexdigest(self, content: bytes) -> str:
        inner = self._inner.copy()
        inner.update(content)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def chain_hmac() -> ChainHmac:
    return _chain_hmac(chain_key())


@functools.cache
def _chain_hmac(key: bytes) -> ChainHmac:
    return ChainHmac(key)


@functools.cache
def _chain_key(key: bytes) -> bytes:
    # A key of its own for the chain, derived from the audit key, so that a chain hash can never
    # double as a checkpoint signature (those are made with the audit key itself).
    return hmac.digest(key, b"kedun audit chain v2", "sha256")


# --- Where keying began ---------------------------------------------------------------------------


def keying_signature(*, first_keyed_seq: int, prev_hash: str) -> str:
    payload = canonical_json(
        {"marker": "keying began", "first_keyed_seq": first_keyed_seq, "prev_hash": prev_hash}
    ).encode()
    return hmac.digest(chain_key(), payload, "sha256").hex()


def keying_record(*, first_keyed_seq: int, prev_hash: str) -> AuditChainKeying:
    """Record that events from `first_keyed_seq` on are keyed. Signed: moving the boundary (to
    pass keyed events off as plain ones) needs the key."""
    from kedun.core import clock

    return AuditChainKeying.objects.create(
        first_keyed_seq=first_keyed_seq,
        prev_hash=prev_hash,
        recorded_at=clock.now(),
        signature=keying_signature(first_keyed_seq=first_keyed_seq, prev_hash=prev_hash),
    )


@dataclass(frozen=True)
class Keying:
    """What verification assumes about the eras: plain before first_keyed_seq, keyed from it."""

    first_keyed_seq: int = 1
    prev_hash: str = GENESIS_HASH
    # "" when the marker is present and genuine; otherwise why it cannot be trusted.
    problem: str = ""


def keying_read() -> Keying:
    marker = AuditChainKeying.objects.first()
    if marker is None:
        # Everything is then taken as keyed: a plain event is named where it stands.
        return Keying(problem="the record of where keying began is missing (deleted)")
    expected = keying_signature(first_keyed_seq=marker.first_keyed_seq, prev_hash=marker.prev_hash)
    if not hmac.compare_digest(expected, marker.signature):
        return Keying(
            first_keyed_seq=marker.first_keyed_seq,
            prev_hash=marker.prev_hash,
            problem=(
                "the record of where keying began was altered (its signature is wrong, or it "
                "was made with another audit key)"
            ),
        )
    return Keying(first_keyed_seq=marker.first_keyed_seq, prev_hash=marker.prev_hash)


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
    return audit_key()


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
    rows: Iterable[tuple[Any, ...]],
    *,
    checkpoint: Checkpoint | None = None,
    keying: Keying | None = None,
) -> VerifyResult:
    """Walk the chain in seq order and report the first entry that breaks it.

    `keying` says where the keyed era begins (default: every entry keyed)."""
    keying = keying or Keying()
    result = _verify_walk(rows, checkpoint=checkpoint, keying=keying)
    if not keying.problem:
        return result
    # The marker cannot be trusted: the chain is broken whatever the walk found, and the
    # walk's first break (usually the first plain entry, taken as keyed) is still the one named.
    if result.ok:
        if result.count == 0:
            return result  # an empty chain (a new or flushed database) has no marker yet
        return _broken(
            result.count,
            result.head_seq,
            result.head_hash,
            keying.first_keyed_seq,
            keying.problem,
        )
    return _broken(
        result.count,
        result.head_seq,
        result.head_hash,
        result.broken_seq or keying.first_keyed_seq,
        f"{result.reason}; {keying.problem}",
    )


def _verify_walk(
    rows: Iterable[tuple[Any, ...]], *, checkpoint: Checkpoint | None, keying: Keying
) -> VerifyResult:
    first_keyed = keying.first_keyed_seq
    keyed_hash = chain_hmac().hexdigest
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
        keyed = seq >= first_keyed
        if seq == first_keyed and stored_prev != keying.prev_hash:
            return _broken(
                count,
                seq - 1,
                prev_hash,
                seq - 1 if seq > 1 else seq,
                f"the entries before entry {seq} are not those that stood there when keying "
                "began (rewritten)",
            )
        content = event_content(
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
            keyed=keyed,
        )
        computed = keyed_hash(content) if keyed else hashlib.sha256(content).hexdigest()
        if computed != stored_hash:
            if keyed and hashlib.sha256(_with_version(content)).hexdigest() == stored_hash:
                return _broken(
                    count,
                    seq - 1,
                    prev_hash,
                    seq,
                    f"entry {seq} carries a plain SHA-256 hash where the audit key's is due: "
                    "it was written by someone without the key (appended or rewritten in the "
                    "database)",
                )
            return _broken(
                count,
                seq - 1,
                prev_hash,
                seq,
                f"entry {seq} does not match its hash (edited, written without the audit key, "
                "or moved from elsewhere in the chain)",
            )
        if checkpoint is not None and seq == checkpoint.seq:
            checkpoint_hash_at_seq = stored_hash
        prev_prev_hash, prev_hash = prev_hash, stored_hash
        expected_seq += 1
        count += 1
    head_seq = expected_seq - 1
    if head_seq < first_keyed - 1:
        return _broken(
            count,
            head_seq,
            prev_hash,
            head_seq + 1,
            f"the chain ends at entry {head_seq} but {first_keyed - 1} entries stood when "
            f"keying began: entries {head_seq + 1}–{first_keyed - 1} were removed (truncated)",
        )
    if head_seq == first_keyed - 1 and head_seq > 0 and prev_hash != keying.prev_hash:
        return _broken(
            count,
            head_seq,
            prev_hash,
            head_seq,
            f"entry {head_seq} is not the one that stood there when keying began (rewritten)",
        )
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


def _with_version(keyed_content: bytes) -> bytes:
    """The same content as the plain era would hash it (version 1 in place of 2)."""
    return b"[%d" % CANONICAL_VERSION + keyed_content[len(b"[%d" % KEYED_VERSION) :]


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
    keying = keying_read()
    rows = AuditEvent.objects.order_by("seq").values_list(*_FIELDS).iterator(chunk_size=chunk_size)
    return verify_rows(rows, checkpoint=checkpoint, keying=keying)


def chain_head() -> tuple[int, str]:
    head = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
    return head if head else (0, GENESIS_HASH)
