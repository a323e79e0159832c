"""The Analytics page in a real browser, the parts that need no query engine: it is in the
project's navigation, an example fills the box, and forms without a query or a CSRF token are
refused. Running queries: test_browser_analytics_query.py."""

from __future__ import annotations

from typing import Any

from tests.conftest import ApiServer
from tests.dashboard.conftest import screenshot, sign_in
from tests.dashboard.helpers import admin_project


def test_analytics_page_is_linked_from_the_project_and_examples_fill_the_box(
    page: Any, api: ApiServer
) -> None:
    with api.client() as http:
        project = admin_project(http, "Analytics page")
    sign_in(page)
    page.goto(f"/projects/{project.id}")
    page.get_by_role("navigation", name="Project").get_by_role(
        "link", name="Analytics", exact=True
    ).click()
    page.wait_for_url(f"**/projects/{project.id}/analytics")
    current = page.locator(".projectnav a[aria-current=page]")
    assert current.inner_text() == "Analytics"
    assert page.get_by_label("SQL").input_value() == ""

    page.get_by_role("link", name="SELECT count() FROM users").click()
    assert page.get_by_label("SQL").input_value() == "SELECT count() FROM users"
    screenshot(page, "31_analytics_page")

    # A blank query goes back to the page with a message; nothing is sent to the API.
    page.get_by_label("SQL").fill("   ")
    page.evaluate("document.getElementById('query').removeAttribute('required')")
    page.get_by_role("button", name="Run query").click()
    page.wait_for_url(f"**/projects/{project.id}/analytics")
    assert "Write a query to run" in page.locator(".flash-error").inner_text()

    # Like every dashboard form, it is refused without the CSRF token.
    response = page.request.post(
        f"/projects/{project.id}/analytics", form={"query": "SELECT 1", "back": "/projects"}
    )
    assert response.status == 403
