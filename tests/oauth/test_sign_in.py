"""Sign-in with OAuth over real HTTP: authorize -> a real OpenID provider's login and consent ->
callback -> the app's redirect -> the token endpoint (contract §5.2, §3)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import as_user, refresh, sign_up
from tests.oauth.flow import BUILTIN, Browser, Flow, OAuth, code_from, shared, unique_login


@pytest.mark.parametrize("provider", BUILTIN)
def test_each_builtin_provider_signs_a_new_user_up_through_the_mock_convention(
    oauth: OAuth, provider: str
) -> None:
    """STACK_<PROVIDER>_CLIENT_ID=MOCK: an OpenID client of STACK_OAUTH_MOCK_URL whose client id
    is the provider id; the account's email is its ``sub``, verified."""
    project = oauth.project(shared(provider))
    login = unique_login(provider)
    tokens = oauth.sign_in(project, provider, login)
    assert tokens["is_new_user"] is True
    user = oauth.me(project, tokens["access_token"])
    assert (user["primary_email"], user["primary_email_verified"]) == (login, True)
    assert user["display_name"] is None  # scope "openid offline_access": no profile claims
    assert user["is_anonymous"] is False


def test_token_response_has_the_contracts_fields(oauth: OAuth) -> None:
    project = oauth.project(shared("google"))
    flow = Flow(project, "google")
    after = "http://localhost:3000/dashboard"
    with Browser(oauth.env) as browser:
        code = code_from(
            browser.callback(
                browser.to_callback(flow, unique_login(), after_callback_redirect_url=after)
            ),
            flow,
        )
        r = browser.token(flow.token_form(code))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"].startswith("no-store")
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "legacy"
    assert (body["is_new_user"], body["newUser"]) == (True, True)
    assert body["after_callback_redirect_url"] == body["afterCallbackRedirectUrl"] == after
    refreshed = refresh(oauth.http, project, body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text


def test_returning_user_signs_in_as_the_same_user(oauth: OAuth) -> None:
    project = oauth.project(shared("github"))
    login = unique_login()
    first = oauth.sign_in(project, "github", login)
    second = oauth.sign_in(project, "github", login)
    assert second["is_new_user"] is False
    assert (
        oauth.me(project, second["access_token"])["id"]
        == (oauth.me(project, first["access_token"])["id"])
    )


def test_json_mode_answers_the_location_and_sets_no_cookie(oauth: OAuth) -> None:
    """``stack_response_mode=json``: ``{location}`` and no CSRF cookie (the app's state and PKCE
    do that job), and the flow completes without it."""
    project = oauth.project(shared("github"))
    flow = Flow(project, "github")
    with Browser(oauth.env) as browser:
        r = browser.authorize(flow, stack_response_mode="json")
        assert r.status_code == 200, r.text
        assert "set-cookie" not in r.headers
        location = r.json()["location"]
        assert location.startswith(oauth.env.provider_url + "/auth?")
        callback_url = browser.login_at_provider(location, unique_login())
        code = code_from(browser.callback(callback_url), flow)
        assert browser.token(flow.token_form(code)).status_code == 200


def test_redirect_mode_sets_an_http_only_csrf_cookie_named_after_the_inner_state(
    oauth: OAuth,
) -> None:
    project = oauth.project(shared("github"))
    with Browser(oauth.env) as browser:
        r = browser.authorize(Flow(project, "github"))
    assert r.status_code == 307, r.text
    cookie = r.headers["set-cookie"]
    inner_state = httpx.URL(r.headers["location"]).params["state"]
    assert cookie.startswith(f"stack-oauth-inner-{inner_state}=true;")
    assert "HttpOnly" in cookie
    assert "Max-Age=600" in cookie
    assert "Path=/" in cookie


def test_an_anonymous_user_is_upgraded(oauth: OAuth) -> None:
    project = oauth.project(shared("github"))
    anonymous = oauth.http.post("/api/v1/auth/anonymous/sign-up", headers=project.headers()).json()
    login = unique_login()
    tokens = oauth.sign_in(project, "github", login, token=anonymous["access_token"])
    assert tokens["is_new_user"] is True
    user = oauth.me(project, tokens["access_token"])
    assert user["id"] == anonymous["user_id"]
    assert user["is_anonymous"] is False
    assert user["primary_email"] == login


def test_a_signed_in_user_links_an_account_and_signs_in_with_it_later(oauth: OAuth) -> None:
    project = oauth.project(shared("github"), **{"auth.allowSignUp": True})
    password_user = sign_up(oauth.http, project)
    login = unique_login("linked")
    linked = oauth.sign_in(
        project, "github", login, type="link", token=password_user["access_token"]
    )
    assert linked["is_new_user"] is False
    assert oauth.me(project, linked["access_token"])["id"] == password_user["user_id"]
    # The provider account now signs that user in (no new user, although its email is new).
    again = oauth.sign_in(project, "github", login)
    assert again["is_new_user"] is False
    assert oauth.me(project, again["access_token"])["id"] == password_user["user_id"]


def test_sign_up_disabled_refuses_a_new_oauth_user(oauth: OAuth) -> None:
    project = oauth.project(shared("github"), **{"auth.allowSignUp": False})
    flow = Flow(project, "github")
    with Browser(oauth.env) as browser:
        r = browser.callback(browser.to_callback(flow, unique_login()))
    assert r.status_code == 303
    assert "errorCode=SIGN_UP_NOT_ENABLED" in r.headers["location"]


def test_a_user_with_totp_gets_the_second_factor_at_the_token_endpoint(oauth: OAuth) -> None:
    project = oauth.project(shared("github"))
    login = unique_login()
    tokens = oauth.sign_in(project, "github", login)
    user_id = oauth.me(project, tokens["access_token"])["id"]
    r = oauth.http.patch(
        f"/api/v1/users/{user_id}",
        headers=project.headers("server"),
        json={"totp_secret_base64": "AAECAwQFBgcICQoLDA0ODxAREhM="},
    )
    assert r.status_code == 200, r.text
    flow = Flow(project, "github")
    with Browser(oauth.env) as browser:
        code = code_from(browser.callback(browser.to_callback(flow, login)), flow)
        r = browser.token(flow.token_form(code))
    assert r.headers.get("x-stack-known-error") == "MULTI_FACTOR_AUTHENTICATION_REQUIRED"
    assert r.json()["details"]["attempt_code"]
    assert "refresh_token" not in r.json()


def test_the_access_token_of_an_oauth_user_reads_its_own_user(oauth: OAuth) -> None:
    project = oauth.project(shared("gitlab"))
    tokens = oauth.sign_in(project, "gitlab", unique_login())
    r = oauth.http.get("/api/v1/users/me", headers=as_user(project, tokens["access_token"]))
    assert r.status_code == 200, r.text
