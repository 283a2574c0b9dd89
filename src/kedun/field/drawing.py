"""A rep's day drawn on the server as inline SVG (issue 10 item 6): the visits in time order,
numbered and joined by a line, each customer's location as a square larger than a visit's
circle (so a visit at the door shows inside its customer's square, and a dashed line joins a
far one to it), flagged visits in red, a scale bar.

It always works offline. When a tile server is configured (KEDUN_MAP_TILE_URL), map tiles at
one zoom, computed from the day's extent, are laid behind the drawing as <image>s; the drawing
uses the tiles' projection (Web Mercator) either way, so points sit on the map exactly.

Text is XML-escaped; colours are presentation attributes, not style attributes, so the page's
Content-Security-Policy (style-src 'self') holds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from kedun.customers.models import Customer

from .models import CheckIn
from .presentation import distance_text

WIDTH = 800
HEIGHT = 480
PADDING = 48
TILE = 256
MAX_ZOOM = 18
MIN_ZOOM = 3
LINE = "#2f6fb0"
FLAGGED = "#c62828"
CUSTOMER = "#3a9e6b"
TEXT = "#333333"
GRID = "#e8edf2"
# Earth's circumference at the equator over 256 pixels: metres per pixel at zoom 0.
METRES_PER_PIXEL_Z0 = 156_543.033_92


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def world_pixel(lat: float, lng: float, zoom: int) -> tuple[float, float]:
    """Web Mercator pixel coordinates of a position at `zoom` (what map tiles use)."""
    lat = max(min(lat, 85.05112878), -85.05112878)
    scale = TILE * 2**zoom
    x = (lng + 180.0) / 360.0 * scale
    sin = math.sin(math.radians(lat))
    y = (0.5 - math.log((1 + sin) / (1 - sin)) / (4 * math.pi)) * scale
    return x, y


def fitting_zoom(positions: Sequence[tuple[float, float]]) -> int:
    """The closest zoom at which every position fits the drawing."""
    for zoom in range(MAX_ZOOM, MIN_ZOOM - 1, -1):
        pixels = [world_pixel(lat, lng, zoom) for lat, lng in positions]
        xs, ys = [p[0] for p in pixels], [p[1] for p in pixels]
        if max(xs) - min(xs) <= WIDTH - 2 * PADDING and max(ys) - min(ys) <= HEIGHT - 2 * PADDING:
            return zoom
    return MIN_ZOOM


@dataclass(frozen=True)
class Frame:
    zoom: int
    left: float  # world pixel of the drawing's top-left corner
    top: float

    def at(self, lat: float, lng: float) -> tuple[float, float]:
        x, y = world_pixel(lat, lng, self.zoom)
        return round(x - self.left, 1), round(y - self.top, 1)


def frame_for(positions: Sequence[tuple[float, float]]) -> Frame:
    zoom = fitting_zoom(positions)
    pixels = [world_pixel(lat, lng, zoom) for lat, lng in positions]
    xs, ys = [p[0] for p in pixels], [p[1] for p in pixels]
    centre_x, centre_y = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    return Frame(zoom, centre_x - WIDTH / 2, centre_y - HEIGHT / 2)


def tile_url(template: str, zoom: int, x: int, y: int) -> str:
    return template.replace("{z}", str(zoom)).replace("{x}", str(x)).replace("{y}", str(y))


def _tiles(frame: Frame, template: str) -> list[str]:
    count = 2**frame.zoom
    first_x, last_x = math.floor(frame.left / TILE), math.floor((frame.left + WIDTH) / TILE)
    first_y, last_y = math.floor(frame.top / TILE), math.floor((frame.top + HEIGHT) / TILE)
    images = []
    for ty in range(max(first_y, 0), min(last_y, count - 1) + 1):
        for tx in range(first_x, last_x + 1):
            url = tile_url(template, frame.zoom, tx % count, ty)
            images.append(
                f'<image href="{_text(url)}" x="{tx * TILE - frame.left:.1f}" '
                f'y="{ty * TILE - frame.top:.1f}" width="{TILE}" height="{TILE}"/>'
            )
    return images


def _scale_bar(frame: Frame, lat: float) -> str:
    """A bar of a round length (100 m, 500 m, 2 km …) near a fifth of the drawing's width."""
    metres_per_pixel = METRES_PER_PIXEL_Z0 * math.cos(math.radians(lat)) / 2**frame.zoom
    target = metres_per_pixel * WIDTH / 5
    length = 1.0
    for step in (1, 2, 5):
        for power in range(0, 8):
            candidate = step * 10**power
            if candidate <= target:
                length = max(length, candidate)
    pixels = length / metres_per_pixel
    x, y = 16, HEIGHT - 18
    return (
        f'<g class="kd-scale"><rect x="{x - 6}" y="{y - 18}" width="{pixels + 60:.0f}" '
        f'height="28" fill="#ffffff" fill-opacity="0.8"/>'
        f'<line x1="{x}" y1="{y}" x2="{x + pixels:.1f}" y2="{y}" stroke="{TEXT}" '
        f'stroke-width="3"/><text x="{x + pixels + 6:.1f}" y="{y + 4}" font-size="12" '
        f'fill="{TEXT}" font-family="sans-serif">{_text(distance_text(length))}</text></g>'
    )


def day_svg(
    check_ins: Sequence[CheckIn], customers: Sequence[Customer], *, tiles: str = ""
) -> SafeString | None:
    """The day's drawing; None when there is nothing to draw."""
    places = {c.pk: (c.lat, c.lng) for c in customers if c.lat is not None and c.lng is not None}
    located = [c for c in customers if c.pk in places]
    positions = [(c.lat, c.lng) for c in check_ins] + list(places.values())
    if not positions:
        return None
    frame = frame_for(positions)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="kd-day-map" id="day-map" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'data-zoom="{frame.zoom}" aria-label="{_text(_("The day on a map"))}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#f7f9fb"/>',
    ]
    for step in range(0, WIDTH + 1, 80):
        parts.append(f'<line x1="{step}" y1="0" x2="{step}" y2="{HEIGHT}" stroke="{GRID}"/>')
    for step in range(0, HEIGHT + 1, 80):
        parts.append(f'<line x1="0" y1="{step}" x2="{WIDTH}" y2="{step}" stroke="{GRID}"/>')
    if tiles:
        parts.append('<g class="kd-tiles">' + "".join(_tiles(frame, tiles)) + "</g>")
    where = {pk: frame.at(lat, lng) for pk, (lat, lng) in places.items()}
    for check_in in check_ins:  # a visit to its customer's premises
        if check_in.customer_id in where:
            x1, y1 = frame.at(check_in.lat, check_in.lng)
            x2, y2 = where[check_in.customer_id]
            parts.append(
                f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{CUSTOMER}" '
                f'stroke-dasharray="4 3" stroke-width="1.5"/>'
            )
    for customer in located:
        x, y = where[customer.pk]
        parts.append(
            f'<g class="kd-customer" data-customer="{customer.pk}"><title>{_text(customer.name)}'
            f'</title><rect x="{x - 15}" y="{y - 15}" width="30" height="30" fill="{CUSTOMER}" '
            f'fill-opacity="0.3" stroke="{CUSTOMER}" stroke-width="2"/></g>'
        )
    route = " ".join(f"{x},{y}" for x, y in (frame.at(c.lat, c.lng) for c in check_ins))
    if len(check_ins) > 1:
        parts.append(
            f'<polyline points="{route}" fill="none" stroke="{LINE}" stroke-width="2.5" '
            f'stroke-linejoin="round" class="kd-route"/>'
        )
    for number, check_in in enumerate(check_ins, start=1):
        x, y = frame.at(check_in.lat, check_in.lng)
        flagged = bool(check_in.flags.all())
        colour = FLAGGED if flagged else LINE
        label = (
            f"{number}. {timezone.localtime(check_in.captured_at):%H:%M} {check_in.customer.name}"
        )
        parts.append(
            f'<g class="kd-visit{" kd-flagged" if flagged else ""}" data-check-in="{check_in.pk}"'
            f' data-flagged="{str(flagged).lower()}"><title>{_text(label)}</title>'
            f'<circle cx="{x}" cy="{y}" r="11" fill="{colour}" stroke="#ffffff" '
            f'stroke-width="2"/><text x="{x}" y="{y + 4}" text-anchor="middle" font-size="11" '
            f'font-weight="bold" fill="#ffffff" font-family="sans-serif">{number}</text></g>'
        )
    parts.append(_scale_bar(frame, positions[0][0]))
    parts.append("</svg>")
    # Every text above is escaped.
    return mark_safe("".join(parts))
