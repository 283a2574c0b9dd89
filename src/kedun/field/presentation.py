"""Check-ins as people read them: each flag's reason as a sentence in the reader's language,
built from the figures stored with the flag (never a stored sentence), and the remarks that
are not flags — a customer without a location, a photo without a time, a late upload."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import CheckIn, CheckInFlag, FlagKind

# An upload this long after the visit is shown as late (an offline backlog), never flagged.
LATE_AFTER = dt.timedelta(minutes=15)


def distance_text(metres: float) -> str:
    if metres < 1000:
        return _("%(m)d m") % {"m": round(metres)}
    return _("%(km).1f km") % {"km": metres / 1000}


def duration_text(seconds: float) -> str:
    """5 min · 2 h 05 min · 3 days 4 h — as long as a manager needs to judge it."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    minutes = seconds // 60
    if minutes < 60:
        return _("%(n)d min") % {"n": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    days, hours = divmod(hours, 24)
    return ngettext("%(d)d day %(h)d h", "%(d)d days %(h)d h", days) % {"d": days, "h": hours}


def local_text(moment: dt.datetime | str | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Other:
    """An earlier check-in a reason names (the previous stop, the photo's first use)."""

    customer: str
    rep: str
    at: dt.datetime


class Reasons:
    """Builds the reason sentences of many check-ins' flags with one query for the check-ins
    they refer to."""

    def __init__(self, flags: Iterable[CheckInFlag]) -> None:
        flags = list(flags)
        wanted: set[int] = set()
        for flag in flags:
            other = flag.detail.get("previous_check_in") or flag.detail.get("check_in")
            if isinstance(other, int):
                wanted.add(other)
        self.others = {
            row.pk: Other(row.customer.name, row.rep.display_name, row.captured_at)
            for row in CheckIn.objects.filter(pk__in=wanted).select_related("customer", "rep")
        }

    def of(self, flag: CheckInFlag) -> str:
        return flag_reason(flag, self.others)


def flag_reason(flag: CheckInFlag, others: dict[int, Other] | None = None) -> str:
    """One flag's reason, e.g. "3.2 km from 上海某某有限公司's location (allowed 500 m, GPS
    accuracy ±15 m)"."""
    detail: dict[str, Any] = flag.detail or {}
    others = others or {}
    if flag.kind == FlagKind.FAR_FROM_CUSTOMER:
        return _(
            "%(distance)s from %(customer)s's location (allowed %(radius)s, GPS accuracy "
            "±%(accuracy)s)"
        ) % {
            "distance": distance_text(detail.get("distance_m", 0)),
            "customer": flag.check_in.customer.name,
            "radius": distance_text(detail.get("radius_m", 0)),
            "accuracy": distance_text(detail.get("accuracy_m", 0)),
        }
    if flag.kind == FlagKind.IMPOSSIBLE_SPEED:
        previous = others.get(detail.get("previous_check_in") or 0)
        where = (
            _("the check-in at %(customer)s at %(at)s")
            % {"customer": previous.customer, "at": local_text(previous.at)}
            if previous
            else _("the previous check-in at %(at)s")
            % {"at": local_text(detail.get("previous_at"))}
        )
        return _(
            "%(distance)s from %(where)s in %(time)s: %(speed)d km/h, faster than the "
            "believable %(max)d km/h"
        ) % {
            "distance": distance_text(detail.get("distance_m", 0)),
            "where": where,
            "time": duration_text(detail.get("seconds", 0)),
            "speed": detail.get("speed_kmh", 0),
            "max": detail.get("max_speed_kmh", 0),
        }
    if flag.kind == FlagKind.PHOTO_STALE:
        values = {
            "taken": local_text(detail.get("taken_at")),
            "difference": duration_text(detail.get("difference_s", 0)),
            "max": detail.get("max_minutes", 0),
        }
        if detail.get("taken_before", True):
            return (
                _(
                    "The photo was taken at %(taken)s, %(difference)s before the check-in "
                    "(allowed %(max)d min)"
                )
                % values
            )
        return (
            _(
                "The photo says it was taken at %(taken)s, %(difference)s after the check-in "
                "(allowed %(max)d min)"
            )
            % values
        )
    if flag.kind == FlagKind.MOCK_LOCATION:
        return _(
            "The phone reported this position as mocked (a location-faking app or a developer "
            "setting)"
        )
    if flag.kind == FlagKind.PHOTO_REUSE:
        earlier = others.get(detail.get("check_in") or 0)
        how = evidence_text(detail.get("evidence") or {})
        if earlier is None:
            return _("The photo is a copy of an earlier check-in's photo (%(how)s)") % {"how": how}
        return _(
            "The photo copies the one of check-in #%(id)d, taken by %(rep)s at %(customer)s "
            "on %(at)s (%(how)s)"
        ) % {
            "id": detail.get("check_in") or 0,
            "rep": earlier.rep,
            "customer": earlier.customer,
            "at": local_text(earlier.at),
            "how": how,
        }
    return str(flag.get_kind_display())


def evidence_text(evidence: dict[str, Any]) -> str:
    """The copy detector's figures in words: what it measured, whatever it measured (figures
    it names that Kedun does not know are quoted as they are)."""
    if evidence.get("identical_file"):
        return _("the very same file")
    parts = []
    for key, value in evidence.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            parts.append(f"{key} {value}")
            continue
        if key == "correlation":
            parts.append(_("correlation %(value).3f after alignment") % {"value": value})
        elif key == "residual":
            parts.append(_("residual %(value).1f grey levels") % {"value": value})
        elif key == "changed":
            parts.append(_("%(pct).1f%% of pixels changed") % {"pct": value * 100})
        elif key == "cover":
            parts.append(
                _("%(pct)d%% of it within the earlier photo") % {"pct": round(value * 100)}
            )
        elif key == "scale":
            parts.append(_("scaled to %(pct)d%%") % {"pct": round(value * 100)})
        elif key == "hash_distance":
            parts.append(_("hash distance %(value)d") % {"value": value})
        elif key == "inliers":
            parts.append(_("%(value)d matching points") % {"value": value})
        else:
            shown = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else value
            parts.append(f"{key} {shown}")
    return ", ".join(parts) or _("the same picture")


@dataclass(frozen=True)
class Remark:
    """Not a flag: something the manager should know when reading the check-in."""

    kind: str
    text: str


def remarks_of(check_in: CheckIn) -> list[Remark]:
    remarks = []
    if check_in.distance_m is None:
        remarks.append(
            Remark("customer_not_located", _("Distance not checked: the customer has no location"))
        )
    if check_in.photo and check_in.photo_taken_at is None:
        remarks.append(Remark("photo_without_time", _("The photo carries no time")))
    late = check_in.received_at - check_in.captured_at
    if late > LATE_AFTER:
        remarks.append(
            Remark(
                "late",
                _(
                    "Uploaded %(delay)s after the visit (an offline backlog is no evidence by "
                    "itself)"
                )
                % {"delay": duration_text(late.total_seconds())},
            )
        )
    return remarks


def is_late(check_in: CheckIn) -> bool:
    return check_in.received_at - check_in.captured_at > LATE_AFTER


def time_spent(check_in: CheckIn) -> dt.timedelta | None:
    if check_in.checked_out_at is None:
        return None
    return check_in.checked_out_at - check_in.captured_at
