"""Reading a history file: lines, their digests, and the values in them.

The format is ../shared/HISTORY-FORMAT.md: one JSON object a line, entities first, then events
in time order. Every problem with a line is a LineError with the reason a person can act on;
the importer reports it with the line number and goes on.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

import orjson
from django.conf import settings


class LineError(Exception):
    """A line that cannot be imported, and why (English: the report is for the admin's
    terminal and the JSON summary)."""


@dataclass(frozen=True)
class Line:
    number: int
    digest: str
    data: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.data.get("type", ""))


@dataclass(frozen=True)
class BadLine:
    number: int
    reason: str


class HistoryFile:
    """A .jsonl or .jsonl.gz file, read line by line, with how far into it we are."""

    def __init__(self, path: Path):
        self.path = path
        self.size = path.stat().st_size
        self._raw: IO[bytes] = path.open("rb")
        magic = self._raw.read(2)
        self._raw.seek(0)
        self._text: IO[bytes] | gzip.GzipFile = (
            gzip.GzipFile(fileobj=self._raw) if magic == b"\x1f\x8b" else self._raw
        )

    def position(self) -> int:
        """Bytes of the file (compressed, for .gz) consumed so far: for a progress bar."""
        return self._raw.tell()

    def lines(self) -> Iterator[Line | BadLine]:
        reader = (
            io.BufferedReader(self._text) if isinstance(self._text, gzip.GzipFile) else self._text
        )
        for number, raw in enumerate(reader, start=1):
            text = raw.strip()
            if not text:
                continue
            try:
                data = orjson.loads(text)
            except (UnicodeDecodeError, ValueError) as error:
                yield BadLine(number, f"not JSON: {error}")
                continue
            if not isinstance(data, dict):
                yield BadLine(number, "not a JSON object")
                continue
            yield Line(number, line_digest(data), data)

    def close(self) -> None:
        self._text.close()
        self._raw.close()


def line_digest(data: dict[str, Any]) -> str:
    """The same event gives the same digest however its keys are ordered or spaced."""
    canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(canonical, digest_size=16).hexdigest()


# -- values -----------------------------------------------------------------------------------


def text(data: dict[str, Any], key: str, *, required: bool = True, max_length: int = 200) -> str:
    # Called for every field of every line: the common case (a str) first, stripped once.
    value = data.get(key)
    if isinstance(value, str):
        result = value.strip()
    elif value is None:
        result = ""
    elif isinstance(value, int):
        result = str(value)
    else:
        raise LineError(f"{key} must be text")
    if not result:
        if required:
            raise LineError(f"{key} is missing")
        return ""
    if len(result) > max_length:
        raise LineError(f"{key} is longer than {max_length} characters")
    return result


def code_of(value: Any) -> str:
    """A reference as `text` reads it (1001 and " 1001 " are "1001"), for looking many up at
    once before the lines are read one by one; "" when it cannot be one."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value).strip()


_local_zone: zoneinfo.ZoneInfo | None = None


def moment(data: dict[str, Any], key: str, *, required: bool = True) -> dt.datetime | None:
    """An ISO 8601 time; one without an offset is read as local time (KEDUN_TIME_ZONE)."""
    global _local_zone
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise LineError(f"{key} is missing")
        return None
    if not isinstance(value, str):
        raise LineError(f"{key} must be an ISO 8601 time")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise LineError(f"{key}: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        if _local_zone is None:
            _local_zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        parsed = parsed.replace(tzinfo=_local_zone)
    return parsed


def money(data: dict[str, Any], key: str, *, positive: bool = True) -> Decimal:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        raise LineError(f"{key} is missing")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise LineError(f"{key}: {value!r} is not an amount") from None
    if not amount.is_finite():
        raise LineError(f"{key}: {value!r} is not an amount")
    if positive and amount <= 0:
        raise LineError(f"{key}: {value!r} must be more than zero")
    if amount < 0:
        raise LineError(f"{key}: {value!r} must not be negative")
    if amount >= Decimal("1e12"):
        raise LineError(f"{key}: {value!r} is too large")
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def number(data: dict[str, Any], key: str, *, required: bool = True) -> float | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise LineError(f"{key} is missing")
        return None
    if isinstance(value, bool):
        raise LineError(f"{key} must be a number")
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise LineError(f"{key}: {value!r} is not a number") from None
    if result != result or result in (float("inf"), float("-inf")):
        raise LineError(f"{key}: {value!r} is not a number")
    return result


def quantity(value: Any) -> Decimal:
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise LineError(f"qty: {value!r} is not a quantity") from None
    if not result.is_finite() or result <= 0:
        raise LineError(f"qty: {value!r} must be more than zero")
    return result.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
