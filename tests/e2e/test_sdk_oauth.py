"""The official SDK's sign-in with OAuth, in Chromium, against the OAuth tests' API and their real
OpenID provider, once per pinned SDK version.

``sdk/oauth/app.js`` is a tiny app on ``@stackframe/js``, bundled for the browser by esbuild
(aliased to each version's package) and served on ``http://localhost:<port>``. Its
``signInWithOAuth`` sends the SDK's own authorize request; Chromium signs in at the provider
(development login and consent); the provider comes back to the API's callback, which sends the
browser to the app's ``/handler/oauth-callback``, where the SDK's ``callOAuthCallback`` redeems the
code (PKCE, its own token request) and then reads the signed-in user.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.sdk_browser_app import app_on_localhost, bundle_per_version
from tests.e2e.test_sdk import VERSIONS, node_ready
from tests.factories import Project
from tests.oauth.flow import OAuthEnv, oauth_project, shared, unique_login

__all__ = ["node_ready"]  # the SDK's node_modules, a fixture of test_sdk.py


@pytest.fixture(scope="module")
def bundles(node_ready: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``sdk/oauth/app.js`` bundled once per SDK version: version -> the folder holding it."""
    return bundle_per_version("oauth/app.js", tmp_path_factory.mktemp("sdk-oauth"))


def _through_provider(page: Any, provider_url: str, login: str) -> None:
    """Sign in at the provider's development login, then consent; until it lets the browser go."""
    for _ in range(6):
        page.wait_for_load_state()
        if not page.url.startswith(provider_url):
            return
        if page.locator("input[name=login]").count():
            page.fill("input[name=login]", login)
            page.fill("input[name=password]", "any")
        with page.expect_navigation():
            page.click("button[type=submit]")
    raise AssertionError(f"the provider kept the browser at {page.url}")


def _result(page: Any) -> dict[str, Any]:
    body = page.locator("body[data-user], body[data-error]")
    body.wait_for(state="attached", timeout=30_000)
    assert body.get_attribute("data-error") is None, body.get_attribute("data-error")
    found: dict[str, Any] = json.loads(body.get_attribute("data-user"))
    return found


@pytest.mark.parametrize("version", VERSIONS)
def test_sdk_signs_in_with_oauth_in_chromium(
    browser: Any, bundles: dict[str, Path], oauth_env: OAuthEnv, version: str
) -> None:
    """signInWithOAuth -> the provider's login -> callOAuthCallback: the app's user is the one
    the API made for that provider account."""
    project: Project = oauth_project(oauth_env, shared("github"))  # localhost redirects allowed
    config = {"baseUrl": oauth_env.api_url, "projectId": project.id,
              "publishableClientKey": project.publishable_client_key}  # fmt: skip
    login = unique_login(f"sdk-oauth-{version.replace('.', '')}")
    context = browser.new_context()
    context.set_default_timeout(20_000)
    try:
        with app_on_localhost(bundles[version], config, "SDK OAuth app") as app_url:
            page = context.new_page()
            page.goto(app_url + "/")
            page.locator("body[data-ready]").wait_for(state="attached")
            with page.expect_navigation(url=f"{oauth_env.provider_url}/**"):
                page.evaluate("provider => window.startOAuth(provider)", "github")
            _through_provider(page, oauth_env.provider_url, login)
            user = _result(page)
            assert page.url == f"{app_url}/signed-in"
    finally:
        context.close()
    assert user["primaryEmail"] == login
    # The API made that user, through github (the MOCK convention: the account id is the login).
    server = httpx.get(
        f"{oauth_env.api_url}/api/v1/users/{user['id']}", headers=project.headers("server")
    )
    assert server.json()["oauth_providers"] == [
        {"id": "github", "account_id": login, "email": login}
    ]
