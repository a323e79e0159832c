"""The dashboard's OAuth settings and a user's linked accounts, in a real browser, checked through
the OAuth tests' API and its real OpenID provider: what the page saves, users sign in with."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_known_error
from tests.dashboard.conftest import (
    DashboardServer,
    open_page,
    screenshot,
    sign_in,
    start_dashboard,
)
from tests.dashboard.helpers import admin_headers, admin_project, internal_sign_in
from tests.factories import Project, stop_process
from tests.oauth.flow import GENERIC_SECRET, Flow, OAuthEnv, me, unique_login
from tests.oauth.flow import sign_in as oauth_sign_in
from tests.oauth.servers import OAuthServers


@pytest.fixture(scope="module")
def oauth_dashboard(oauth_servers: OAuthServers) -> Iterator[DashboardServer]:
    """A dashboard on the OAuth tests' API (its built-in providers have MOCK keys)."""
    server = start_dashboard(oauth_servers.api)
    try:
        yield server
    finally:
        stop_process(server.process)


@pytest.fixture
def page(browser: Any, oauth_dashboard: DashboardServer) -> Iterator[Any]:
    with open_page(browser, oauth_dashboard) as pg:
        yield pg


def _project(env: OAuthEnv, tag: str) -> Project:
    """An admin's new project whose app runs on localhost (the flows' redirect URI)."""
    with httpx.Client(base_url=env.api_url) as http:
        project = admin_project(http, tag)
        r = http.patch(
            "/api/v1/internal/projects/current",
            headers=admin_headers(project.id, internal_sign_in(http)),
            json={"config": {"allow_localhost": True}},
        )
        assert r.status_code == 200, r.text
    return project


def _authorize(env: OAuthEnv, project: Project, provider: str) -> httpx.Response:
    """The SDK's authorize request in JSON mode: where the browser would be sent."""
    query = {**Flow(project, provider).query(), "stack_response_mode": "json"}
    return httpx.get(f"{env.api_url}/api/v1/auth/oauth/authorize/{provider}", params=query)


def _enabled(env: OAuthEnv, project: Project) -> list[str]:
    r = httpx.get(f"{env.api_url}/api/v1/projects/current", headers=project.headers())
    return [p["id"] for p in r.json()["config"]["enabled_oauth_providers"]]


def _saved(page: Any, message: str) -> None:
    assert message in page.locator(".flash-ok").inner_text()


def test_settings_add_switch_and_key_providers_that_users_then_sign_in_with(
    page: Any, oauth_env: OAuthEnv
) -> None:
    project = _project(oauth_env, "OAuth settings")
    sign_in(page)
    page.goto(f"/projects/{project.id}/settings")
    section = page.locator("section[aria-labelledby=oauth-heading]")
    assert "No OAuth providers yet." in section.inner_text()

    # GitHub on this deployment's shared keys (MOCK here): a user signs in with it.
    page.get_by_label("Provider", exact=True).select_option("github")
    page.get_by_role("button", name="Add provider").click()
    _saved(page, "GitHub sign-in enabled.")
    row = page.locator("#provider-github")
    assert re.search(r"GitHub\s+shared\s+enabled", row.inner_text())
    assert f"{oauth_env.api_url}/api/v1/auth/oauth/callback/github" in row.inner_text()
    assert _enabled(oauth_env, project) == ["github"]
    login = unique_login("dashboard-github")
    assert oauth_sign_in(oauth_env, Flow(project, "github"), login)["is_new_user"] is True

    # Any OpenID Connect provider by its issuer URL: a user signs in with it too.
    page.get_by_label("Provider id").fill("acme-sso")
    page.get_by_label("Issuer URL").fill(oauth_env.provider_url)
    page.locator("#oidc-client-id").fill("generic-oidc")
    page.locator("#oidc-client-secret").fill(GENERIC_SECRET)
    page.get_by_role("button", name="Add OpenID Connect provider").click()
    _saved(page, "OpenID Connect provider acme-sso added.")
    assert _enabled(oauth_env, project) == ["acme-sso", "github"]
    tokens = oauth_sign_in(oauth_env, Flow(project, "acme-sso"), unique_login("dashboard-oidc"))
    assert tokens["is_new_user"] is True
    screenshot(page, "20_oauth_providers")

    # Disabled: authorize refuses it, and /projects/current no longer offers it.
    page.get_by_role("button", name="Disable GitHub").click()
    _saved(page, "github sign-in disabled.")
    assert "disabled" in page.locator("#provider-github").inner_text()
    assert _enabled(oauth_env, project) == ["acme-sso"]
    assert_known_error(
        _authorize(oauth_env, project, "github"), "OAUTH_PROVIDER_NOT_FOUND_OR_NOT_ENABLED", 400
    )
    page.get_by_role("button", name="Enable GitHub").click()

    # The project's own OAuth app: authorize now sends the browser to GitHub with its client id.
    page.locator("#provider-github summary").click()
    page.locator("#github-own").check()
    page.locator("#github-client-id").fill("own-github-client")
    page.locator("#github-client-secret").fill("own-github-secret")
    page.get_by_role("button", name="Save keys of GitHub").click()
    _saved(page, "Keys of github saved.")
    assert re.search(r"GitHub\s+own\s+enabled", page.locator("#provider-github").inner_text())
    location = _authorize(oauth_env, project, "github").json()["location"]
    assert location.startswith("https://github.com/login/oauth/authorize?")
    assert "client_id=own-github-client" in location
    # Saved again with the secret left blank: the stored secret is kept.
    page.locator("#provider-github summary").click()
    page.get_by_role("button", name="Save keys of GitHub").click()
    with httpx.Client(base_url=oauth_env.api_url) as http:
        config = http.get("/api/v1/internal/projects/current", headers=project.headers("admin"))
    (github,) = [p for p in config.json()["config"]["oauth_providers"] if p["id"] == "github"]
    assert (github["type"], github["client_secret"]) == ("standard", "own-github-secret")

    page.locator("#provider-acme-sso").get_by_role("button", name="Remove").click()
    _saved(page, "acme-sso removed.")
    assert _enabled(oauth_env, project) == ["github"]


def test_a_users_page_lists_and_unlinks_its_linked_accounts(page: Any, oauth_env: OAuthEnv) -> None:
    project = _project(oauth_env, "Linked accounts")
    with httpx.Client(base_url=oauth_env.api_url) as http:
        r = http.patch(
            "/api/v1/internal/config/override/environment",
            headers=project.headers("admin"),
            json={"config_override_string": '{"auth.oauth.providers.spotify": {"type": '
                  '"spotify", "isShared": true, "allowSignIn": true, '
                  '"allowConnectedAccounts": true}}'},
        )  # fmt: skip
        assert r.status_code == 200, r.text
    login = unique_login("linked")
    tokens = oauth_sign_in(oauth_env, Flow(project, "spotify"), login)
    with httpx.Client(base_url=oauth_env.api_url) as http:
        user_id = me(http, project, tokens["access_token"])["id"]
    sign_in(page)
    page.goto(f"/projects/{project.id}/users/{user_id}")
    table = page.locator("table.linked-accounts")
    assert re.search(rf"spotify\s+{re.escape(login)}\s+{re.escape(login)}\s+yes\s+yes",
                     table.inner_text())  # fmt: skip
    screenshot(page, "21_user_linked_accounts")
    page.get_by_role("button", name=f"Unlink spotify account {login}").click()
    _saved(page, "Account unlinked.")
    assert "No linked OAuth accounts." in page.locator("main").inner_text()
    with httpx.Client(base_url=oauth_env.api_url) as http:
        user = http.get(f"/api/v1/users/{user_id}", headers=project.headers("server")).json()
    assert user["oauth_providers"] == []
