"""The server's checks on a check-in (MISSION §6, issue 10 item 5), one function each.

Each returns a Finding (the flag's kind and the measured figures a manager's reason sentence is
built from, in the reader's language, at read time: presentation.flag_reason) or None. They
are pure: the service gathers the facts (positions, times, the rule, the photo copy detector's
answer) and stores what they find. A flag is a question for a manager, never a verdict, and
lateness alone is never one: an offline backlog arrives hours or weeks after the visit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kedun.core.geo import Position, distance_m

from .models import FlagKind
from .photo_copies import PhotoCopy

# Two check-ins closer in time than this are measured as if this far apart: a phone's clock
# and its position fix are each seconds off, so "300 m in 5 s" is noise, not a car at 216 km/h.
# A real jump (20 km in 30 s) is still far beyond any speed limit over a minute.
MIN_SPEED_GAP = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class Finding:
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class Fix:
    """Where a rep was at a moment, by a check-in: what the speed check compares."""

    at: dt.datetime
    position: Position
    accuracy_m: float
    check_in_id: int | None = None


def _metres(value: float) -> float:
    return round(value, 1)


def far_from_customer(*, distance: float, accuracy_m: float, radius_m: int) -> Finding | None:
    """Farther from the customer's location than the radius, even granting the phone its
    reported accuracy (distance − accuracy > radius): a poor fix is never held against the
    rep — an accuracy larger than the radius makes any distance within it unflaggable."""
    if distance - accuracy_m <= radius_m:
        return None
    return Finding(
        FlagKind.FAR_FROM_CUSTOMER,
        {
            "distance_m": _metres(distance),
            "accuracy_m": _metres(accuracy_m),
            "radius_m": radius_m,
        },
    )


def impossible_speed(*, previous: Fix, current: Fix, max_speed_kmh: int) -> Finding | None:
    """From the previous check-in (by the phone's time) to this one faster than believable.

    Both fixes' accuracies are granted (subtracted from the distance) and the gap is at least
    MIN_SPEED_GAP; `current` is the later of the two and carries the flag.
    """
    seconds = (current.at - previous.at).total_seconds()
    if seconds < 0:
        raise ValueError("impossible_speed compares a check-in with an earlier one")
    distance = distance_m(previous.position, current.position)
    net = distance - previous.accuracy_m - current.accuracy_m
    if net <= 0:
        return None
    speed_kmh = net / max(seconds, MIN_SPEED_GAP.total_seconds()) * 3.6
    if speed_kmh <= max_speed_kmh:
        return None
    return Finding(
        FlagKind.IMPOSSIBLE_SPEED,
        {
            "previous_check_in": previous.check_in_id,
            "previous_at": previous.at.isoformat(),
            "distance_m": _metres(distance),
            "seconds": round(seconds),
            "speed_kmh": round(speed_kmh),
            "max_speed_kmh": max_speed_kmh,
            "accuracy_m": [_metres(previous.accuracy_m), _metres(current.accuracy_m)],
        },
    )


def photo_stale(
    *, taken_at: dt.datetime | None, captured_at: dt.datetime, max_minutes: int
) -> Finding | None:
    """The photo's own time (EXIF) more than `max_minutes` from the check-in, either way.

    No EXIF time is no flag: chat apps and screenshots strip it, so its absence alone proves
    nothing (the check-in says "the photo carries no time" instead).
    """
    if taken_at is None:
        return None
    difference = abs((captured_at - taken_at).total_seconds())
    if difference <= max_minutes * 60:
        return None
    return Finding(
        FlagKind.PHOTO_STALE,
        {
            "taken_at": taken_at.isoformat(),
            "difference_s": round(difference),
            "taken_before": taken_at < captured_at,
            "max_minutes": max_minutes,
        },
    )


def mock_location(*, mock: bool) -> Finding | None:
    """The phone itself said the position was mocked (a developer setting or a location app)."""
    return Finding(FlagKind.MOCK_LOCATION, {}) if mock else None


def photo_reuse(copy: PhotoCopy | None) -> Finding | None:
    """The photo copy detector (photo_copies.py) found an earlier check-in's photo."""
    if copy is None:
        return None
    return Finding(
        FlagKind.PHOTO_REUSE,
        {"check_in": copy.check_in_id, "evidence": _plain(copy.evidence)},
    )


def _plain(value: Any) -> Any:
    """The detector's figures as JSON can store them (numpy numbers become Python ones)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    item = getattr(value, "item", None)  # numpy scalars
    return item() if callable(item) else str(value)
