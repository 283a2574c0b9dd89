"""Positions on the earth: distances, and the coordinate systems Chinese maps use.

Kedun stores every position as WGS-84, what a phone's GPS reports. Chinese map providers
publish GCJ-02 (AMap/高德, Tencent/腾讯) or BD-09 (Baidu/百度), which sit 100–700 m off WGS-84;
a customer located from such a map without conversion would make every visit look far away.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import prcoords
from django.utils.translation import gettext as _

from kedun.core.errors import Invalid

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)

WGS84 = "wgs84"
GCJ02 = "gcj02"
BD09 = "bd09"
COORD_SYSTEMS = (WGS84, GCJ02, BD09)


@dataclass(frozen=True)
class Position:
    lat: float
    lng: float


def distance_m(a: Position, b: Position) -> float:
    """Great-circle distance in metres (haversine; under 0.5 % off the ellipsoid)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlng = math.radians(b.lng - a.lng)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def position_parse(lat: object, lng: object) -> Position:
    """A position from user input (text or numbers), or Invalid saying what is wrong."""
    try:
        lat_value = float(str(lat).strip())
        lng_value = float(str(lng).strip())
    except (TypeError, ValueError):
        lat_value = lng_value = math.nan
    if not (math.isfinite(lat_value) and math.isfinite(lng_value)):
        raise Invalid(_("Latitude and longitude must be numbers."), code="invalid_position")
    if not -90 <= lat_value <= 90:
        raise Invalid(_("Latitude must be between -90 and 90."), code="invalid_position")
    if not -180 <= lng_value <= 180:
        raise Invalid(_("Longitude must be between -180 and 180."), code="invalid_position")
    return Position(lat_value, lng_value)


def to_wgs84(position: Position, coord_system: str) -> Position:
    """The WGS-84 position of one given in `coord_system` (wgs84, gcj02 or bd09).

    Outside China GCJ-02 and BD-09 equal WGS-84 by definition, and prcoords leaves such points
    as they are. The inverse is iterative ("bored"), accurate to centimetres.
    """
    system = (coord_system or WGS84).strip().lower().replace("-", "")
    if system in ("wgs84", "gps", ""):
        return position
    if system in ("gcj02", "amap", "tencent"):
        converted = prcoords.gcj_wgs_bored(prcoords.Coords(position.lat, position.lng))
    elif system in ("bd09", "baidu"):
        converted = prcoords.bd_wgs_bored(prcoords.Coords(position.lat, position.lng))
    else:
        raise Invalid(
            _("Unknown coordinate system %(system)s: use wgs84, gcj02 or bd09.")
            % {"system": coord_system},
            code="invalid_coord_system",
        )
    return Position(round(converted.lat, 7), round(converted.lon, 7))


def from_wgs84(position: Position, coord_system: str) -> Position:
    """The inverse of to_wgs84, for tests and for showing a position on a Chinese map."""
    system = (coord_system or WGS84).strip().lower().replace("-", "")
    coords = prcoords.Coords(position.lat, position.lng)
    if system == WGS84:
        return position
    if system == GCJ02:
        converted = prcoords.wgs_gcj(coords)
    elif system == BD09:
        converted = prcoords.wgs_bd(coords)
    else:
        raise Invalid(
            _("Unknown coordinate system %(system)s: use wgs84, gcj02 or bd09.")
            % {"system": coord_system}
        )
    return Position(converted.lat, converted.lon)
