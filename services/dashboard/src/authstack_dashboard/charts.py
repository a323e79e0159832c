"""Bar and line charts drawn on the server as inline SVG (no JavaScript, no CDN).

Each function returns one ``<svg>`` element as a string in which every piece of text has been
escaped here, so templates insert it with ``|safe``. The SVG uses presentation attributes and
classes only: the dashboard's CSP forbids inline ``style``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape as _escape_text

# viewBox sizes: a chart in half the page's width is drawn at about its size (text stays
# legible); one across the page is WIDE.
WIDTH, WIDE = 480, 960
HEIGHT = 240
# The plot area inside the viewBox; the margins hold the title, the ticks and the axis labels
# (on the right: half of the last tick label, centred under the last point).
LEFT, RIGHT, TOP, BOTTOM = 48, 26, 34, 46
PLOT_H = HEIGHT - TOP - BOTTOM
MAX_X_TICKS = 6
Y_TICKS = 4
_ID = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class Point:
    """One value: ``label`` names it in full (its tooltip), ``tick`` is its short axis label."""

    label: str
    value: float
    tick: str | None = None


def esc(value: object) -> str:
    """Text safe in SVG/HTML content and in double-quoted attributes."""
    return _escape_text(str(value), {'"': "&quot;", "'": "&#39;"})


def number(value: float) -> str:
    """1234 -> "1,234"; 2.5 -> "2.5" (at most two decimals)."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def points_from(
    items: object,
    label_key: str,
    value_key: str,
    *,
    tick: Callable[[str], str] | None = None,
    label: Callable[[str], str] | None = None,
) -> list[Point]:
    """Points from the API's list of objects; anything that is not such a list is no data, and
    a value that is not a number counts as 0 (the chart never fails on an odd answer)."""
    if not isinstance(items, list):
        return []
    points = []
    for item in items:
        if not isinstance(item, dict):
            continue
        raw = str(item.get(label_key, ""))
        value = item.get(value_key)
        amount = float(value) if isinstance(value, int | float) and value is not True else 0.0
        points.append(
            Point(
                label(raw) if label else raw,
                amount if math.isfinite(amount) else 0.0,
                tick(raw) if tick else None,
            )
        )
    return points


def nice_scale(largest: float) -> tuple[float, float]:
    """The value axis for data peaking at ``largest``: (top, step), where the step is 1, 2 or 5
    times a power of ten (whole numbers when the data reaches 1), the top is the first multiple
    of the step at or above ``largest``, and at most ``Y_TICKS`` steps reach it. All-zero data
    gets the axis 0 to 1."""
    if largest <= 0:
        return 1.0, 1.0
    raw_step = largest / Y_TICKS
    power = 10.0 ** math.floor(math.log10(raw_step))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw_step * (1 - 1e-9))
    if largest >= 1:
        step = max(step, 1.0)
    return math.ceil(largest / step - 1e-9) * step, step


def _y(value: float, top: float) -> float:
    return TOP + PLOT_H - (value / top) * PLOT_H


def _fmt(coord: float) -> str:
    return f"{coord:.2f}".rstrip("0").rstrip(".")


def _plot_w(width: int) -> int:
    return width - LEFT - RIGHT


def _open(
    kind: str, chart_id: str, title: str, summary: str, top: float | None, width: int
) -> list[str]:
    """The ``<svg>`` with its accessible name and description; ``top`` None: the empty state."""
    data = f' data-max="{esc(number(top))}"' if top is not None else ""
    classes = f"chart chart-{kind}" + (" empty" if top is None else "")
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{classes}" id="{chart_id}" '
        f'viewBox="0 0 {width} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc"{data}>',
        f'<title id="{chart_id}-title">{esc(title)}</title>',
        f'<desc id="{chart_id}-desc">{esc(summary)}</desc>',
        f'<text class="chart-title" x="{LEFT}" y="20" aria-hidden="true">{esc(title)}</text>',
    ]


def _axes(
    points: Sequence[Point], scale: tuple[float, float], x_label: str, y_label: str, width: int
) -> list[str]:
    top, step = scale
    right = LEFT + _plot_w(width)
    parts = ['<g class="y-axis" aria-hidden="true">']
    for i in range(round(top / step) + 1):
        value = step * i
        y = _fmt(_y(value, top))
        parts.append(f'<line class="gridline" x1="{LEFT}" x2="{right}" y1="{y}" y2="{y}"/>')
        parts.append(
            f'<text class="tick" x="{LEFT - 6}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{esc(number(value))}</text>'
        )
    parts.append("</g>")
    parts.append('<g class="x-axis" aria-hidden="true">')
    base = TOP + PLOT_H
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{right}" y1="{base}" y2="{base}"/>')
    for index in _tick_indexes(len(points)):
        point = points[index]
        parts.append(
            f'<text class="tick" x="{_fmt(_x_center(index, len(points), width))}" y="{base + 16}" '
            f'text-anchor="middle">{esc(point.tick or point.label)}</text>'
        )
    parts.append("</g>")
    parts.append(
        f'<text class="axis-label" x="{_fmt(LEFT + _plot_w(width) / 2)}" y="{HEIGHT - 6}" '
        f'text-anchor="middle">{esc(x_label)}</text>'
    )
    middle = _fmt(TOP + PLOT_H / 2)
    parts.append(
        f'<text class="axis-label" x="14" y="{middle}" text-anchor="middle" '
        f'transform="rotate(-90 14 {middle})">{esc(y_label)}</text>'
    )
    return parts


def _tick_indexes(count: int) -> list[int]:
    """At most ``MAX_X_TICKS`` evenly spread labels, always the first and the last."""
    if count <= MAX_X_TICKS:
        return list(range(count))
    step = (count - 1) / (MAX_X_TICKS - 1)
    return sorted({round(i * step) for i in range(MAX_X_TICKS)})


def _x_center(index: int, count: int, width: int) -> float:
    return LEFT + (index + 0.5) * _plot_w(width) / count


def _summary(points: Sequence[Point], unit: str) -> str:
    total = sum(p.value for p in points)
    first, last = points[0].label, points[-1].label
    span = f"{len(points)} {unit} from {first} to {last}"
    if total == 0:
        return f"{span}: all zero."
    peak = max(points, key=lambda p: p.value)
    return f"{span}: total {number(total)}, highest {number(peak.value)} on {peak.label}."


def _empty(kind: str, chart_id: str, title: str, message: str, width: int) -> str:
    parts = _open(kind, chart_id, title, message, None, width)
    plot_w = _plot_w(width)
    parts.append(
        f'<rect class="plot-empty" x="{LEFT}" y="{TOP}" width="{plot_w}" height="{PLOT_H}"/>'
        f'<text class="empty-message" x="{_fmt(LEFT + plot_w / 2)}" y="{_fmt(TOP + PLOT_H / 2)}" '
        f'text-anchor="middle" dominant-baseline="middle">{esc(message)}</text></svg>'
    )
    return "".join(parts)


def _chart_id(chart_id: str) -> str:
    return _ID.sub("-", chart_id) or "chart"


def _mark_title(point: Point) -> str:
    return f"<title>{esc(point.label)}: {esc(number(point.value))}</title>"


@dataclass(frozen=True, slots=True)
class Chart:
    """What a chart says besides its values: its title, id, axis labels and empty state."""

    title: str
    chart_id: str
    x_label: str
    y_label: str
    unit: str = "points"  # what one point is, for the description ("31 days from ...")
    empty_message: str = "No data yet."
    width: int = WIDTH


# Draws the marks of the points given (points, top of the scale, viewBox width).
Marks = Callable[[Sequence[Point], float, int], list[str]]


def _draw(kind: str, points: Sequence[Point], chart: Chart, marks: Marks) -> str:
    chart_id = _chart_id(chart.chart_id)
    if not points:
        return _empty(kind, chart_id, chart.title, chart.empty_message, chart.width)
    scale = nice_scale(max(p.value for p in points))
    summary = _summary(points, chart.unit)
    parts = _open(kind, chart_id, chart.title, summary, scale[0], chart.width)
    parts += _axes(points, scale, chart.x_label, chart.y_label, chart.width)
    parts += marks(points, scale[0], chart.width)
    parts.append("</svg>")
    return "".join(parts)


def _bars(points: Sequence[Point], top: float, width: int) -> list[str]:
    slot = _plot_w(width) / len(points)
    bar_w = max(slot * 0.75, 1.0)
    parts = ['<g class="bars">']
    for index, point in enumerate(points):
        height = max(point.value, 0.0) / top * PLOT_H
        x = LEFT + index * slot + (slot - bar_w) / 2
        parts.append(
            f'<rect class="bar" x="{_fmt(x)}" y="{_fmt(TOP + PLOT_H - height)}" '
            f'width="{_fmt(bar_w)}" height="{_fmt(height)}" data-label="{esc(point.label)}" '
            f'data-value="{esc(number(point.value))}">{_mark_title(point)}</rect>'
        )
    parts.append("</g>")
    return parts


def _line(points: Sequence[Point], top: float, width: int) -> list[str]:
    coords = [
        (_fmt(_x_center(i, len(points), width)), _fmt(_y(max(p.value, 0.0), top)))
        for i, p in enumerate(points)
    ]
    line = " ".join(f"{x},{y}" for x, y in coords)
    parts = [f'<polyline class="line" fill="none" points="{line}"/>', '<g class="points">']
    for (x, y), point in zip(coords, points, strict=True):
        parts.append(
            f'<circle class="point" cx="{x}" cy="{y}" r="3" data-label="{esc(point.label)}" '
            f'data-value="{esc(number(point.value))}">{_mark_title(point)}</circle>'
        )
    parts.append("</g>")
    return parts


def bar_chart(points: Sequence[Point], chart: Chart) -> str:
    """One ``rect.bar`` per point (``data-label``, ``data-value``), heights on a shared scale
    whose top (``data-max`` on the ``<svg>``) is the top of ``nice_scale`` of the largest value;
    no points: the empty state (``svg.empty``)."""
    return _draw("bar", points, chart, _bars)


def line_chart(points: Sequence[Point], chart: Chart) -> str:
    """A ``polyline.line`` through one ``circle.point`` per point (``data-label``,
    ``data-value``), on the same scale as ``bar_chart``; no points: the empty state."""
    return _draw("line", points, chart, _line)


def day_tick(day: str) -> str:
    """ "2026-12-05" -> "12-05" (the year is in the tooltip)."""
    return day[5:] if len(day) == 10 else day


def hour_label(hour: str) -> str:
    """ "2026-12-05T21:00:00Z" -> "2026-12-05 21:00 UTC"."""
    if len(hour) >= 16 and hour[10] == "T":
        return f"{hour[:10]} {hour[11:16]} UTC"
    return hour


def hour_tick(hour: str) -> str:
    """ "2026-12-05T21:00:00Z" -> "12-05 21h"."""
    if len(hour) >= 13 and hour[10] == "T":
        return f"{hour[5:10]} {hour[11:13]}h"
    return hour


DAY = "Day (UTC)"


def overview_charts(metrics: dict[str, Any]) -> dict[str, str]:
    """The Overview's three charts from the ``/internal/metrics`` answer."""
    analytics = metrics.get("analytics_overview")
    hourly = analytics.get("hourly_token_refreshes") if isinstance(analytics, dict) else None
    return {
        "sign_ups": bar_chart(
            points_from(metrics.get("daily_users"), "date", "activity", tick=day_tick),
            Chart("Sign-ups per day (last 30 days)", "chart-sign-ups", DAY, "Sign-ups", "days"),
        ),
        "active_users": line_chart(
            points_from(metrics.get("daily_active_users"), "date", "activity", tick=day_tick),
            Chart(
                "Daily active users (last 30 days)",
                "chart-active-users",
                DAY,
                "Active users",
                "days",
            ),
        ),
        "token_refreshes": bar_chart(
            points_from(hourly, "hour", "count", tick=hour_tick, label=hour_label),
            Chart(
                "Token refreshes per hour (last 48 hours)",
                "chart-token-refreshes",
                "Hour (UTC)",
                "Refreshes",
                "hours",
                "No token refresh data yet.",
                WIDE,
            ),
        ),
    }
