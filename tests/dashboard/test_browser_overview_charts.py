"""The Overview's server-drawn charts in a real browser, after real sign-ups through the API."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from tests.api.helpers import sign_up
from tests.conftest import ApiServer
from tests.dashboard.conftest import screenshot, sign_in
from tests.dashboard.helpers import admin_project, unique

SIGN_UPS = 3


def bar_values(page: Any, chart: str) -> list[tuple[str, str]]:
    """(label, value) of every bar of the chart with this id, as the DOM has them."""
    values: list[tuple[str, str]] = page.eval_on_selector_all(
        f"svg#{chart} rect.bar", "bars => bars.map(b => [b.dataset.label, b.dataset.value])"
    )
    return [tuple(v) for v in values]  # type: ignore[misc]


def test_overview_charts_show_todays_sign_ups_and_active_users(page: Any, api: ApiServer) -> None:
    with api.client() as http:
        project = admin_project(http, "Charts")
        for _ in range(SIGN_UPS):
            sign_up(http, project, f"{unique('chart')}@example.com")

    sign_in(page)
    # Activity and token refreshes come from ClickHouse events, which land in batches: reload
    # until the sign-ups' events are counted (a second or so).
    deadline = time.monotonic() + 20
    while True:
        page.goto(f"/projects/{project.id}")
        points = page.eval_on_selector_all(
            "svg#chart-active-users circle.point", "ps => ps.map(p => p.dataset.value)"
        )
        if (points and points[-1] == str(SIGN_UPS)) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    today = datetime.now(UTC).date().isoformat()

    sign_ups = page.locator("svg#chart-sign-ups")
    assert sign_ups.get_attribute("role") == "img"
    assert page.get_by_role("img", name="Sign-ups per day (last 30 days)").count() == 1
    bars = bar_values(page, "chart-sign-ups")
    assert len(bars) == 31  # today and the 30 days before it
    assert bars[-1] == (today, str(SIGN_UPS))
    assert all(value == "0" for _, value in bars[:-1])
    # Today's bar is drawn: it has a height, the full plot's (the axis tops out at 3).
    heights = page.eval_on_selector_all(
        "svg#chart-sign-ups rect.bar", "bars => bars.map(b => b.getBBox().height)"
    )
    assert heights[-1] > 0
    assert heights[-1] == max(heights)
    assert sign_ups.get_attribute("data-max") == str(SIGN_UPS)
    assert f"total {SIGN_UPS}, highest {SIGN_UPS} on {today}" in (
        sign_ups.locator("desc").text_content() or ""
    )

    # Signing up opens a session, so every one of them was active today.
    points = page.eval_on_selector_all(
        "svg#chart-active-users circle.point", "ps => ps.map(p => p.dataset.value)"
    )
    assert len(points) == 31
    assert points[-1] == str(SIGN_UPS)

    # Token refreshes per hour (48 bars): the sign-ups' tokens are in this hour's bar (or the
    # last one's, when the hour turned meanwhile).
    refreshes = bar_values(page, "chart-token-refreshes")
    assert len(refreshes) == 48
    assert sum(int(value) for _, value in refreshes[-2:]) == SIGN_UPS
    screenshot(page, "30_overview_charts")
