"""The dashboard in a real browser (Debian Chromium via Playwright) against the live API."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from tests.api.helpers import assert_known_error
from tests.conftest import ApiServer
from tests.dashboard.conftest import DashboardServer, screenshot, sign_in
from tests.dashboard.helpers import (
    PASSWORD,
    admin_headers,
    api_project,
    internal_sign_in,
    internal_sign_up,
    sdk_sign_up,
)


def unique(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}"


def test_admin_creates_project_and_keys_then_sdk_user_appears_in_user_list(
    page: Any, api: ApiServer
) -> None:
    """The operator story: sign in, create a project, create keys, the SDK uses them."""
    sign_in(page)
    name = unique("Browser app")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Description").fill("made by the browser test")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(re.compile(r"/projects/[0-9a-f-]{36}/api-keys$"))
    assert "created" in page.locator(".flash-ok").inner_text()
    project_id = page.url.rstrip("/").split("/")[-2]

    page.get_by_label("Description").fill("web app")
    page.get_by_role("button", name="Create key set").click()
    keys = {
        kind: page.locator(f"#new-{kind}").input_value()
        for kind in ("publishable_client_key", "secret_server_key", "super_secret_admin_key")
    }
    assert page.locator("#new-project-id").input_value() == project_id
    assert keys["publishable_client_key"].startswith("pck_")
    assert keys["secret_server_key"].startswith("ssk_")
    assert keys["super_secret_admin_key"].startswith("sak_")
    screenshot(page, "01_key_set_created_shown_once")

    # The keys are shown once: the list shows only their last four characters.
    page.goto(f"/projects/{project_id}/api-keys")
    assert keys["secret_server_key"] not in page.content()
    assert keys["secret_server_key"][-4:] in page.locator(".key-set").first.inner_text()

    email = f"{unique('sdk-user')}@example.com"
    created = sdk_sign_up(api.url, project_id, keys, email)

    page.goto(f"/projects/{project_id}/users")
    row = page.locator("table.users tbody tr", has_text=email)
    assert row.count() == 1
    screenshot(page, "02_sdk_user_in_user_list")
    row.get_by_role("link").click()
    page.wait_for_url(f"**/users/{created['user_id']}")
    assert email in page.locator("main").inner_text()

    page.goto(f"/projects/{project_id}")
    assert page.locator("#total-users").inner_text() == "1"
    assert email in page.locator("main").inner_text()
    screenshot(page, "03_project_overview")
