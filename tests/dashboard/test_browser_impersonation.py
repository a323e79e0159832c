"""Impersonation from the dashboard in Chromium, against the live API and an app on the official
SDK: the settings field, the "Impersonate" button, the handler link (whose session the app and the
API accept) and the console snippet (which the SDK then signs in with, in both pinned versions).

``sdk/dashboard/impersonation-app.js`` is bundled per SDK version and served on
``http://localhost:<port>`` by a server that notes every request it gets
(``tests/e2e/browser_app.py``): the session travels in the link's fragment, so it must reach no
server, nor a Referer.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.api.helpers import PASSWORD, create_user
from tests.conftest import ApiServer, Project
from tests.dashboard.conftest import screenshot, sign_in
from tests.dashboard.helpers import admin_project, unique
from tests.e2e.browser_app import ServedApp, app_on_localhost, bundle_per_version, reported_user
from tests.e2e.test_sdk import VERSIONS, node_ready

__all__ = ["node_ready"]  # the SDK's node_modules, a fixture of test_sdk.py
FRAGMENT = "#stack_impersonation_refresh_token="


@pytest.fixture(scope="module")
def bundles(node_ready: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The app bundled once per SDK version: version -> the folder holding its app.js."""
    out = tmp_path_factory.mktemp("sdk-impersonation")
    return bundle_per_version("dashboard/impersonation-app.js", out)


def sdk_app(bundle: Path, api: ApiServer, project: Project) -> AbstractContextManager[ServedApp]:
    """The app for ``project``, served on ``http://localhost:<port>`` (a context manager)."""
    config = {"baseUrl": api.url, "projectId": project.id,
              "publishableClientKey": project.publishable_client_key}  # fmt: skip
    return app_on_localhost(bundle, config, "Impersonation app")


def impersonate(page: Any, project: Project, user: dict[str, Any]) -> Any:
    """Press "Impersonate" on the user's page; returns the answer to that form."""
    page.goto(f"/projects/{project.id}/users/{user['id']}")
    button = page.get_by_role("button", name=f"Impersonate {user['display_name']}")
    with page.expect_response(lambda r: r.url.endswith("/impersonate")) as answer:
        button.click()
    page.wait_for_load_state()
    return answer.value


def use_token(api: ApiServer, project: Project, refresh_token: str) -> dict[str, Any]:
    """The user the API knows the session as: refresh it, then /users/me with its access token."""
    with api.client() as http:
        r = http.post(
            "/api/v1/auth/sessions/current/refresh",
            headers=project.headers(**{"x-stack-refresh-token": refresh_token}),
        )
        assert r.status_code == 200, r.text
        as_user = project.headers(**{"x-stack-access-token": r.json()["access_token"]})
        me = http.get("/api/v1/users/me", headers=as_user)
    assert me.status_code == 200, me.text
    found: dict[str, Any] = me.json()
    return found


def rendered_config(api: ApiServer, project: Project) -> dict[str, Any]:
    with api.client() as http:
        r = http.get("/api/v1/internal/config", headers=project.headers("admin"))
    assert r.status_code == 200, r.text
    config: dict[str, Any] = json.loads(r.json()["config_string"])
    return config


def save_handler(page: Any, project: Project, url: str) -> None:
    page.goto(f"/projects/{project.id}/settings")
    page.get_by_label("Impersonation handler URL").fill(url)
    page.get_by_role("button", name="Save handler URL").click()
    page.wait_for_url(f"**/projects/{project.id}/settings")


def test_impersonate_opens_the_app_as_the_user_through_the_handler_url(
    page: Any, api: ApiServer, bundles: dict[str, Path]
) -> None:
    with api.client() as http:
        project = admin_project(http, "Impersonation")
        user = create_user(http, project, display_name=unique("Ada"),
                           primary_email=f"{unique('ada')}@example.com")  # fmt: skip
    sign_in(page)
    with sdk_app(bundles[VERSIONS[0]], api, project) as app:
        handler = f"{app.url}/impersonate"
        # Saved, but not trusted yet: the page says so (and the link will not be offered).
        save_handler(page, project, handler)
        assert "not a trusted URL of this project yet" in page.locator(".flash-error").inner_text()
        assert page.get_by_label("Impersonation handler URL").input_value() == handler
        assert page.locator("#handler-untrusted").count() == 1
        assert rendered_config(api, project)["impersonation"]["handlerUrl"] == handler
        answer = impersonate(page, project, user)
        hint = page.locator("#impersonation-hint").inner_text()
        assert "is not a trusted URL of this project" in hint
        assert page.locator("#impersonation-link").count() == 0

        page.goto(f"/projects/{project.id}/settings")
        page.get_by_label("Domain URL").fill(app.url)
        page.get_by_role("button", name="Add domain").click()
        page.wait_for_url(f"**/projects/{project.id}/settings")
        assert page.locator("#handler-untrusted").count() == 0
        screenshot(page, "impersonation_handler_setting")

        answer = impersonate(page, project, user)
        assert answer.status == 200
        assert answer.headers["cache-control"] == "no-store"
        assert page.url.endswith(f"/users/{user['id']}/impersonate")  # no token in the URL
        link = page.locator("#impersonation-link")
        assert link.inner_text() == f"Open app as {user['display_name']}"
        assert link.get_attribute("target") == "_blank"
        assert set(link.get_attribute("rel").split()) == {"noopener", "noreferrer"}
        href = link.get_attribute("href")
        assert href.startswith(handler + FRAGMENT)
        refresh_token = unquote(href[len(handler + FRAGMENT) :])
        screenshot(page, "impersonation_started")
        assert use_token(api, project, refresh_token)["id"] == user["id"]

        # The link opens the app in a new tab; its handler hands the session to the SDK.
        with page.context.expect_page() as opened:
            link.click()
        tab = opened.value
        assert reported_user(tab)["id"] == user["id"]
        assert tab.url == f"{app.url}/signed-in"
        assert tab.evaluate("window.opener") is None
        screenshot(tab, "impersonation_app_as_user")
        tab.close()
        [(path, referer)] = [r for r in app.requests if r[0].startswith("/impersonate")]
        assert (path, referer) == ("/impersonate", None)
        assert not [r for r in app.requests if refresh_token in repr(r)]

    # The setting round-trips: cleared, the page offers the hint again.
    save_handler(page, project, "")
    assert "handler URL removed" in page.locator(".flash-ok").inner_text()
    assert page.get_by_label("Impersonation handler URL").input_value() == ""
    assert rendered_config(api, project)["impersonation"]["handlerUrl"] is None
    impersonate(page, project, user)
    assert "set the impersonation handler URL" in page.locator("#impersonation-hint").inner_text()


@pytest.mark.parametrize("version", VERSIONS)
def test_the_console_snippet_signs_the_sdk_in_as_the_user(
    page: Any, browser: Any, api: ApiServer, bundles: dict[str, Path], version: str
) -> None:
    """In a tab of the app where someone is signed in, the snippet makes the SDK the user's."""
    with api.client() as http:
        project = admin_project(http, f"Snippet {version}")
        operator = create_user(http, project, primary_email=f"{unique('op')}@example.com",
                               primary_email_auth_enabled=True, password=PASSWORD)  # fmt: skip
        user = create_user(http, project, display_name=unique("Grace"),
                           primary_email=f"{unique('grace')}@example.com")  # fmt: skip
    sign_in(page)
    impersonate(page, project, user)
    snippet = page.locator("#impersonation-snippet").input_value()
    assert "use the snippet below" in page.locator("#impersonation-hint").inner_text()

    context = browser.new_context()
    context.set_default_timeout(20_000)
    try:
        with sdk_app(bundles[version], api, project) as app:
            tab = context.new_page()
            tab.goto(app.url + "/")
            tab.locator("body[data-ready]").wait_for(state="attached")
            tab.evaluate("([e, p]) => window.signIn(e, p)", [operator["primary_email"], PASSWORD])
            tab.locator("body[data-signed-in], body[data-error]").wait_for(state="attached")
            assert tab.locator("body").get_attribute("data-error") is None
            tab.goto(app.url + "/signed-in")
            assert reported_user(tab)["id"] == operator["id"]

            with tab.expect_navigation():
                tab.evaluate(snippet)
            tab.goto(app.url + "/signed-in")
            assert reported_user(tab) == {"id": user["id"], "primaryEmail": user["primary_email"]}
    finally:
        context.close()


def test_the_audit_log_page_lists_impersonations_and_other_admin_actions(
    page: Any, api: ApiServer, make_project: Any
) -> None:
    project = make_project()  # written straight to the database: nothing audited yet
    with api.client() as http:
        user = create_user(http, project, display_name=unique("Linus"),
                           primary_email=f"{unique('linus')}@example.com")  # fmt: skip
        other = create_user(http, project, primary_email=f"{unique('other')}@example.com")
    sign_in(page)
    page.goto(f"/projects/{project.id}/audit-log")
    assert "Nothing has been recorded for this project yet." in page.locator("main").inner_text()

    impersonate(page, project, user)
    page.goto(f"/projects/{project.id}/users/{other['id']}")
    page.get_by_role("button", name="Restrict this user").click()
    page.wait_for_url(f"**/users/{other['id']}")
    page.goto(f"/projects/{project.id}/settings")
    page.get_by_label("Allow new users to sign up").uncheck()
    page.get_by_role("button", name="Save sign-in settings").click()
    page.wait_for_url(f"**/projects/{project.id}/settings")

    page.get_by_role("navigation", name="Project").get_by_role("link", name="Audit log").click()
    page.wait_for_url(f"**/projects/{project.id}/audit-log")
    rows = page.locator("table.audit-log tbody tr")
    actions = rows.locator(".action").all_inner_texts()
    assert actions == ["Project updated", "User restricted", "Impersonation started"]
    started = rows.filter(has_text="Impersonation started")
    assert "admin@example.com (you)" in started.locator(".actor").inner_text()
    assert started.locator(".target a").get_attribute("href") == (
        f"/projects/{project.id}/users/{user['id']}"
    )
    details = started.locator(".details").inner_text()
    assert "session id" in details
    assert re.search(r"expires at\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", details), details
    screenshot(page, "audit_log")

    page.get_by_label("Action").select_option("user.restricted")
    page.get_by_role("button", name="Filter").click()
    assert rows.locator(".action").all_inner_texts() == ["User restricted"]
    page.get_by_label("Action").select_option("")
    page.get_by_label("User id").fill(user["id"])
    page.get_by_role("button", name="Filter").click()
    assert rows.locator(".action").all_inner_texts() == ["Impersonation started"]
    page.get_by_label("Action").select_option("key_set.revoked")
    page.get_by_role("button", name="Filter").click()
    assert "No entry matches these filters." in page.locator("main").inner_text()
    page.get_by_label("User id").fill("not-a-uuid")
    page.get_by_role("button", name="Filter").click()
    assert "A user id is a UUID" in page.locator("#filter-problem").inner_text()


def test_the_audit_log_pages_towards_older_entries(
    page: Any, api: ApiServer, make_project: Any
) -> None:
    project = make_project()  # nothing audited yet
    with api.client() as http:
        admin = project.headers("admin")
        for n in range(53):  # the page shows 50
            override = {"teams.allowClientTeamCreation": n % 2 == 0}
            body = {"config_override_string": json.dumps(override)}
            r = http.patch("/api/v1/internal/config/override/environment", headers=admin, json=body)
            assert r.status_code == 200, r.text
    sign_in(page)
    page.goto(f"/projects/{project.id}/audit-log?action=project.config_updated")
    rows = page.locator("table.audit-log tbody tr")
    assert rows.count() == 50
    newer = [dt.datetime.fromisoformat(t) for t in times(rows)]
    assert newer == sorted(newer, reverse=True)
    page.get_by_role("link", name="Older").click()
    page.wait_for_url("**/audit-log?action=project.config_updated&cursor=*")
    assert rows.count() == 3
    older = [dt.datetime.fromisoformat(t) for t in times(rows)]
    assert max(older) <= min(newer)
    assert page.get_by_role("link", name="Older").count() == 0
    screenshot(page, "audit_log_older")
    page.get_by_role("link", name="Newest").click()
    page.wait_for_url("**/audit-log?action=project.config_updated")
    assert rows.count() == 50


def times(rows: Any) -> list[str]:
    return [t.get_attribute("datetime") for t in rows.locator("time").all()]
