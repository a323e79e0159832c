"""The server-side SVG charts: well-formed, one mark per point, on one scale, text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from authstack_dashboard.charts import (
    PLOT_H,
    Chart,
    Point,
    bar_chart,
    hour_label,
    line_chart,
    nice_scale,
    overview_charts,
    points_from,
)

SVG = "{http://www.w3.org/2000/svg}"
CHART = Chart("Sign-ups", "chart-test", "Day", "Count")


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 (our own output, parsed to check it is well-formed)
    assert root.tag == f"{SVG}svg"
    return root


def marks(root: ET.Element, kind: str) -> list[ET.Element]:
    return [e for e in root.iter() if e.get("class") == kind]


def texts(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.iter() if e.text]


def days(*values: float) -> list[Point]:
    return [Point(f"2026-11-{i + 1:02d}", v) for i, v in enumerate(values)]


def test_bar_chart_has_one_bar_per_point_and_the_tallest_bar_is_the_largest_value() -> None:
    root = parse(bar_chart(days(0, 3, 1, 2), CHART))
    bars = marks(root, "bar")
    assert [b.get("data-value") for b in bars] == ["0", "3", "1", "2"]
    assert [b.get("data-label") for b in bars] == [f"2026-11-0{i}" for i in range(1, 5)]
    heights = [float(b.get("height", "")) for b in bars]
    # The axis tops out at the largest value (3 is a whole number of steps): it fills the plot.
    assert root.get("data-max") == "3"
    assert heights[1] == pytest.approx(PLOT_H)
    assert heights == pytest.approx([0, PLOT_H, PLOT_H / 3, PLOT_H * 2 / 3], abs=0.01)
    # Every bar stands on the same baseline.
    bottoms = {float(b.get("y", "")) + float(b.get("height", "")) for b in bars}
    assert len(bottoms) == 1


def test_bars_scale_to_the_axis_top_above_the_largest_value() -> None:
    root = parse(bar_chart(days(7, 1), CHART))
    assert nice_scale(7) == (8, 2)
    assert root.get("data-max") == "8"
    heights = [float(b.get("height", "")) for b in marks(root, "bar")]
    assert heights == pytest.approx([PLOT_H * 7 / 8, PLOT_H / 8], abs=0.01)
    ticks = [e.text for e in root.iter(f"{SVG}text") if e.get("class") == "tick"]
    assert ticks[:5] == ["0", "2", "4", "6", "8"]


def test_line_chart_has_one_point_per_value_joined_by_one_line() -> None:
    root = parse(line_chart(days(1, 4, 2), CHART))
    points = marks(root, "point")
    assert [p.get("data-value") for p in points] == ["1", "4", "2"]
    cys = [float(p.get("cy", "")) for p in points]
    assert cys[1] < cys[2] < cys[0]  # higher values are drawn higher (smaller y)
    (line,) = marks(root, "line")
    assert len(line.get("points", "").split()) == 3


def test_chart_is_named_for_assistive_technology() -> None:
    root = parse(bar_chart(days(1, 2), CHART))
    assert root.get("role") == "img"
    labelled = (root.get("aria-labelledby") or "").split()
    by_id = {e.get("id"): e for e in root.iter()}
    assert by_id[labelled[0]].tag == f"{SVG}title"
    assert by_id[labelled[0]].text == "Sign-ups"
    assert "total 3, highest 2 on 2026-11-02" in (by_id[labelled[1]].text or "")
    # Axis labels and a visible title are drawn.
    assert {"Sign-ups", "Day", "Count"} <= set(texts(root))
    # Each bar tells its value on hover.
    assert [t.text for b in marks(root, "bar") for t in b] == ["2026-11-01: 1", "2026-11-02: 2"]


@pytest.mark.parametrize("draw", [bar_chart, line_chart])
def test_labels_titles_and_ids_are_escaped(draw: Any) -> None:
    evil = "<script>alert(\"x\")</script> & 'q'"
    svg = draw([Point(evil, 5, tick=evil)], Chart(evil, 'a" onload="x', evil, evil))
    assert "<script>" not in svg
    root = parse(svg)
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert all("onload" not in attr for e in root.iter() for attr in e.attrib)
    (mark,) = marks(root, "bar" if draw is bar_chart else "point")
    assert mark.get("data-label") == evil  # the text survives intact, as text
    assert evil in texts(root)


@pytest.mark.parametrize("draw", [bar_chart, line_chart])
def test_empty_data_gives_an_empty_state(draw: Any) -> None:
    root = parse(draw([], Chart("Sign-ups", "c", "Day", "Count", empty_message="Nothing <yet>")))
    assert "empty" in (root.get("class") or "").split()
    assert not marks(root, "bar")
    assert not marks(root, "point")
    assert "Nothing <yet>" in texts(root)
    assert root.get("role") == "img"


def test_all_zero_data_draws_flat_marks_on_an_axis_from_0_to_1() -> None:
    root = parse(bar_chart(days(0, 0, 0), CHART))
    bars = marks(root, "bar")
    assert len(bars) == 3
    assert {float(b.get("height", "")) for b in bars} == {0}
    assert root.get("data-max") == "1"
    assert "all zero" in "".join(texts(root))
    line = parse(line_chart(days(0, 0), CHART))
    assert len({p.get("cy") for p in marks(line, "point")}) == 1


def test_many_points_get_a_few_axis_labels_including_the_first_and_last() -> None:
    points = [*days(*range(30)), Point("2026-12-01", 3)]
    root = parse(bar_chart(points, CHART))
    x_ticks = [
        e.text for g in root if g.get("class") == "x-axis" for e in g if e.get("class") == "tick"
    ]
    assert 2 <= len(x_ticks) <= 6
    assert x_ticks[0] == "2026-11-01"
    assert x_ticks[-1] == "2026-12-01"


def test_points_from_the_api_tolerate_odd_answers() -> None:
    items = [
        {"date": "2026-11-01", "activity": 2},
        {"date": "2026-11-02", "activity": None},
        {"date": "2026-11-03", "activity": "7"},
        {"date": "2026-11-04", "activity": True},
        "not an object",
        {"date": "2026-11-05", "activity": 1.5},
    ]
    points = points_from(items, "date", "activity")
    assert [p.value for p in points] == [2, 0, 0, 0, 1.5]
    assert points_from(None, "date", "activity") == []
    assert points_from({"date": "x"}, "date", "activity") == []


def test_overview_charts_show_an_empty_state_without_token_refresh_data() -> None:
    series = [{"date": f"2026-11-{d:02d}", "activity": d % 3} for d in range(1, 31)]
    without = overview_charts({"daily_users": series, "daily_active_users": series})
    assert len(marks(parse(without["sign_ups"]), "bar")) == len(series)
    assert len(marks(parse(without["active_users"]), "point")) == len(series)
    refreshes = parse(without["token_refreshes"])
    assert "empty" in (refreshes.get("class") or "")
    assert "No token refresh data yet." in texts(refreshes)

    hours = [{"hour": f"2026-12-05T{h:02d}:00:00Z", "count": h} for h in range(24)]
    with_data = overview_charts({"analytics_overview": {"hourly_token_refreshes": hours}})
    bars = marks(parse(with_data["token_refreshes"]), "bar")
    assert len(bars) == 24
    assert bars[21].get("data-label") == "2026-12-05 21:00 UTC" == hour_label(hours[21]["hour"])
    assert bars[23].get("data-value") == "23"
    # Missing series are empty states too, never an error.
    assert "empty" in (parse(with_data["sign_ups"]).get("class") or "")
