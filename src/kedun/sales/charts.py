"""Charts for the reports, drawn on the server as inline SVG (MISSION §9): no JavaScript, no
CDN, nothing to install, and they print.

Three small functions — a horizontal bar chart, a horizontal stacked bar chart and a line
chart — each returning a complete <svg> element as a SafeString for a template to insert.
Every piece of text (titles, labels, series names, units) is XML-escaped here, and characters
XML cannot carry are dropped, so a customer called "<script>" is drawn, never run. Colours and
fonts are presentation attributes, not style attributes, so the page's CSP (style-src 'self')
holds; the classes (kd-chart, kd-bar, …) let the stylesheet restyle them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

Number = Decimal | int | float

PALETTE = ("#2f6fb0", "#e07b39", "#3a9e6b", "#c44e52", "#8172b2", "#937860", "#d0679d", "#7f7f7f")
FONT = 'font-family="sans-serif"'
FONT_SIZE = 12
TITLE_SIZE = 14
AXIS_COLOUR = "#888888"
GRID_COLOUR = "#e4e4e4"
TEXT_COLOUR = "#333333"
# Characters XML 1.0 cannot carry (controls other than tab/newline/CR, lone surrogates,
# U+FFFE/U+FFFF): a label holding one would make the whole page's SVG malformed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: object) -> str:
    """Text or attribute content, escaped for XML (quotes included)."""
    return escape(_NOT_XML.sub("", str(value)), quote=True)


def _number(value: Number) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"a chart cannot draw {value!r}")
    return number


def _format(value: Number) -> str:
    """1234.5 → "1,234.50"; whole numbers without decimals."""
    if isinstance(value, int) or (isinstance(value, Decimal) and value == value.to_integral()):
        return f"{int(value):,}"
    return f"{float(value):,.2f}"


def _em(text: str) -> float:
    """Rough width in ems, generous so that labels fit: CJK characters are a little over one
    em in common fallback fonts, Latin ones about 0.6 em."""
    return sum(1.1 if ord(char) >= 0x2E80 else 0.62 for char in text)


def _shorten(text: str, max_em: float) -> str:
    if _em(text) <= max_em:
        return text
    while text and _em(text) > max_em - 1:
        text = text[:-1]
    return text + "…"


def _nice_step(value: float) -> float:
    """The next 1, 2 or 5 × 10ⁿ at or above `value`."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if value <= step * power * (1 + 1e-9))


def _scale(values: Sequence[float], *, steps: int = 4) -> tuple[float, float, float]:
    """(bottom, top, step): a round range that holds zero and every value."""
    low, high = min(0.0, *values), max(0.0, *values)
    step = _nice_step((high - low) / steps)
    bottom, top = math.floor(low / step) * step, math.ceil(high / step) * step
    return bottom, max(top, bottom + step), step  # all zero: still a range to draw on


def _svg(width: int, height: int, title: str, body: list[str]) -> SafeString:
    label = _text(title)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="kd-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{label}" {FONT} font-size="{FONT_SIZE}">'
        f"<title>{label}</title>"
        f'<text class="kd-chart-title" x="0" y="{TITLE_SIZE + 2}" font-size="{TITLE_SIZE}" '
        f'font-weight="bold" fill="{TEXT_COLOUR}">{label}</text>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # every text above is escaped


def _empty(width: int, title: str) -> SafeString:
    height = 80
    return _svg(
        width,
        height,
        title,
        [
            f'<text class="kd-chart-empty" x="{width / 2:.1f}" y="{height / 2 + 10:.1f}" '
            f'text-anchor="middle" fill="{AXIS_COLOUR}">{_text(_("No data"))}</text>'
        ],
    )


def _legend(names: Sequence[str], *, y: float, width: int) -> tuple[list[str], int]:
    """Coloured keys, wrapped to the width; returns the parts and the height they take."""
    parts: list[str] = []
    x, line = 0.0, 0
    for i, name in enumerate(names):
        shown = _shorten(name, 16)
        item_width = 22 + _em(shown) * FONT_SIZE + 16
        if x and x + item_width > width:
            x, line = 0.0, line + 1
        top = y + line * 18
        parts.append(
            f'<g class="kd-legend"><rect x="{x:.1f}" y="{top:.1f}" width="12" height="12" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/><text x="{x + 16:.1f}" y="{top + 10:.1f}" '
            f'fill="{TEXT_COLOUR}">{_text(shown)}</text></g>'
        )
        x += item_width
    return parts, (line + 1) * 18 if names else 0


def _label_column(labels: Sequence[str], width: int) -> tuple[list[str], float]:
    """Category labels shortened to at most a third of the chart, and that column's width."""
    max_em = max(4.0, (width / 3) / FONT_SIZE)
    shown = [_shorten(label, max_em) for label in labels]
    column = max((_em(label) for label in shown), default=0) * FONT_SIZE + 8
    return shown, column


def bar_chart(
    *, title: str, bars: Sequence[tuple[str, Number]], unit: str = "", width: int = 640
) -> SafeString:
    """One horizontal bar per (label, value), values written at the bars' ends. Negative
    values (e.g. days early) grow left of a zero line."""
    if not bars:
        return _empty(width, title)
    labels, column = _label_column([label for label, _value in bars], width)
    values = [_number(value) for _label, value in bars]
    start, end, _step = _scale(values)
    plot_left, plot_width = column, width - column - 90

    def x_of(value: float) -> float:
        return plot_left + (value - start) / (end - start) * plot_width

    top, row, bar = 30, 24, 16
    height = top + row * len(bars) + 8
    zero = x_of(0)
    body = [
        f'<line class="kd-axis" x1="{zero:.1f}" y1="{top - 4}" x2="{zero:.1f}" '
        f'y2="{height - 4}" stroke="{AXIS_COLOUR}"/>'
    ]
    suffix = f" {unit}" if unit else ""
    for i, ((label, raw), shown, value) in enumerate(zip(bars, labels, values, strict=True)):
        y = top + i * row
        left, right = sorted((zero, x_of(value)))
        value_text = _text(_format(raw) + suffix)
        body.append(
            f'<g class="kd-bar"><title>{_text(label)}: {value_text}</title>'
            f'<text x="{plot_left - 6:.1f}" y="{y + bar - 4}" text-anchor="end" '
            f'fill="{TEXT_COLOUR}">{_text(shown)}</text>'
            f'<rect x="{left:.1f}" y="{y}" width="{right - left:.1f}" height="{bar}" '
            f'fill="{PALETTE[0 if value >= 0 else 3]}"/>'
            f'<text x="{max(right, zero) + 4:.1f}" y="{y + bar - 4}" '
            f'fill="{TEXT_COLOUR}">{value_text}</text></g>'
        )
    return _svg(width, height, title, body)


def stacked_bar_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number]]],
    unit: str = "",
    width: int = 640,
) -> SafeString:
    """One horizontal bar per category, split into the series (each series gives one value
    per category, none negative), with a legend and each bar's total at its end."""
    if not categories or not series:
        return _empty(width, title)
    for name, values in series:
        if len(values) != len(categories):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(categories)}")
    numbers = [[_number(value) for value in values] for _name, values in series]
    if any(value < 0 for values in numbers for value in values):
        raise ValueError("a stacked bar cannot draw negative values")
    legend, legend_height = _legend([name for name, _values in series], y=26, width=width)
    labels, column = _label_column(categories, width)
    totals = [sum(values[i] for values in numbers) for i in range(len(categories))]
    scale = _scale(totals)[1]
    plot_left, plot_width = column, width - column - 90
    top, row, bar = 32 + legend_height, 24, 16
    height = top + row * len(categories) + 8
    body = [
        *legend,
        f'<line class="kd-axis" x1="{plot_left:.1f}" y1="{top - 4}" x2="{plot_left:.1f}" '
        f'y2="{height - 4}" stroke="{AXIS_COLOUR}"/>',
    ]
    suffix = f" {unit}" if unit else ""
    for i, (category, shown) in enumerate(zip(categories, labels, strict=True)):
        y = top + i * row
        parts = [
            f'<text x="{plot_left - 6:.1f}" y="{y + bar - 4}" text-anchor="end" '
            f'fill="{TEXT_COLOUR}">{_text(shown)}</text>'
        ]
        x = plot_left
        for s, ((name, raw_values), values) in enumerate(zip(series, numbers, strict=True)):
            segment = values[i] / scale * plot_width
            if segment <= 0:
                continue
            parts.append(
                f'<rect class="kd-segment" x="{x:.1f}" y="{y}" width="{segment:.1f}" '
                f'height="{bar}" fill="{PALETTE[s % len(PALETTE)]}"><title>'
                f"{_text(category)} · {_text(name)}: {_text(_format(raw_values[i]) + suffix)}"
                "</title></rect>"
            )
            x += segment
        total: Number = (
            sum((raw[i] for _name, raw in series), Decimal(0))
            if all(isinstance(raw[i], Decimal | int) for _name, raw in series)
            else totals[i]
        )
        parts.append(
            f'<text x="{x + 4:.1f}" y="{y + bar - 4}" fill="{TEXT_COLOUR}">'
            f"{_text(_format(total) + suffix)}</text>"
        )
        body.append(f'<g class="kd-bar">{"".join(parts)}</g>')
    return _svg(width, height, title, body)


def line_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[Number | None]]],
    unit: str = "",
    width: int = 640,
    height: int = 280,
) -> SafeString:
    """One line per series over the labels (e.g. months), with a value axis, a legend and a
    dot per point; None leaves a gap in the line."""
    points_known = [value for _name, values in series for value in values if value is not None]
    if not labels or not points_known:
        return _empty(width, title)
    for name, values in series:
        if len(values) != len(labels):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(labels)}")
    numbers = [_number(value) for value in points_known]
    bottom_value, top_value, step_value = _scale(numbers)
    ticks = [
        _round(bottom_value + k * step_value)
        for k in range(round((top_value - bottom_value) / step_value) + 1)
    ]
    legend, legend_height = _legend([name for name, _values in series], y=26, width=width)
    plot_left = max(_em(_format(tick)) for tick in ticks) * FONT_SIZE + 10
    plot_top, plot_bottom = 34 + legend_height, height - 28
    # Room on the right for half of the last label, which is centred on its point.
    plot_width = width - plot_left - max(12, _em(_shorten(labels[-1], 8)) * FONT_SIZE / 2 + 4)
    step = plot_width / max(1, len(labels) - 1)

    def x_of(i: int) -> float:
        return plot_left + (i * step if len(labels) > 1 else plot_width / 2)

    def y_of(value: float) -> float:
        share = (value - bottom_value) / (top_value - bottom_value)
        return plot_bottom - share * (plot_bottom - plot_top)

    body = [*legend]
    for tick in ticks:
        y = y_of(float(tick))
        body.append(
            f'<line class="kd-grid" x1="{plot_left:.1f}" y1="{y:.1f}" '
            f'x2="{plot_left + plot_width:.1f}" y2="{y:.1f}" stroke="{GRID_COLOUR}"/>'
            f'<text x="{plot_left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" '
            f'fill="{AXIS_COLOUR}">{_text(_format(tick))}</text>'
        )
    every = max(1, math.ceil(len(labels) * 6 * FONT_SIZE / plot_width))  # labels that fit
    for i, label in enumerate(labels):
        if i % every == 0:
            body.append(
                f'<text x="{x_of(i):.1f}" y="{height - 10}" text-anchor="middle" '
                f'fill="{AXIS_COLOUR}">{_text(_shorten(label, 8))}</text>'
            )
    suffix = f" {unit}" if unit else ""
    for s, (name, values) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        runs: list[list[str]] = [[]]
        dots = []
        for i, value in enumerate(values):
            if value is None:
                runs.append([])
                continue
            x, y = x_of(i), y_of(_number(value))
            runs[-1].append(f"{x:.1f},{y:.1f}")
            dots.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>'
                f"{_text(name)} · {_text(labels[i])}: {_text(_format(value) + suffix)}"
                "</title></circle>"
            )
        lines = [
            f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2"/>'
            for run in runs
            if len(run) > 1
        ]
        body.append(f'<g class="kd-series">{"".join(lines)}{"".join(dots)}</g>')
    return _svg(width, height, title, body)


def _round(value: float) -> Number:
    """An axis value without float noise: 0.30000000000000004 → 0.3, 2000.0 → 2000."""
    value = round(value, 6)
    return int(value) if value == int(value) else value
