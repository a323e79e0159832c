"""The Analytics page runs SQL through the API's POST /internal/analytics/query (ClickHouse,
embedded in tests) and shows the rows as a table, or the engine's error."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import sign_up
from tests.conftest import ApiServer
from tests.dashboard.conftest import screenshot, sign_in
from tests.dashboard.helpers import admin_project, unique


def run(page: Any, query: str) -> None:
    page.get_by_label("SQL").fill(query)
    page.get_by_role("button", name="Run query").click()
    page.wait_for_load_state()


def result_rows(page: Any) -> list[list[str]]:
    rows: list[list[str]] = page.eval_on_selector_all(
        "table.result tbody tr",
        "trs => trs.map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent))",
    )
    return rows


def test_admin_runs_sql_and_sees_rows_or_the_error(page: Any, api: ApiServer) -> None:
    with api.client() as http:
        project = admin_project(http, "Analytics query")
        for _ in range(2):
            sign_up(http, project, f"{unique('query')}@example.com")
    sign_in(page)
    page.goto(f"/projects/{project.id}/analytics")

    run(page, "SELECT count() AS n FROM users")
    headers = page.locator("table.result thead th").all_inner_texts()
    assert headers == ["n"], page.locator("main").inner_text()
    ((count,),) = result_rows(page)
    assert count.isdigit()
    assert "1 row." in page.locator("#result-summary").inner_text()
    assert page.get_by_label("SQL").input_value() == "SELECT count() AS n FROM users"
    screenshot(page, "32_analytics_query_result")

    # Values are shown as text, never as markup.
    run(page, "SELECT 1 + 1 AS two, '<b>bold</b>' AS html")
    assert page.locator("table.result thead th").all_inner_texts() == ["two", "html"]
    assert result_rows(page) == [["2", "<b>bold</b>"]]
    assert page.locator("table.result b").count() == 0

    # The engine's message, on the page, with the query kept for editing.
    run(page, "SELECT no_such_column FROM users")
    error = page.locator(".query-error").inner_text()
    assert "no_such_column" in error
    assert page.locator("table.result").count() == 0
    assert page.get_by_label("SQL").input_value() == "SELECT no_such_column FROM users"
    screenshot(page, "33_analytics_query_error")
