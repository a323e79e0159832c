"""Connected accounts (contract §1.4): a signed-in user's linked accounts that grant API access,
and an access token to the provider's API, taken from what the sign-in stored or refreshed at the
real provider with the stored refresh token (authlib)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.helpers import as_user, assert_known_error, sign_up
from tests.conftest import ApiServer, create_project
from tests.factories import Project
from tests.oauth.flow import OAuth, generic, shared, unique_login
from tests.oauth.provider_tokens import (
    MOCK_SECRET,
    end_access_token,
    provider_userinfo,
    revoke_grant,
    stored_tokens,
    valid_refresh_token,
)

TOKEN = "/api/v1/connected-accounts/{user}/{provider}/access-token"
NO_SCOPE = "OAUTH_CONNECTION_DOES_NOT_HAVE_REQUIRED_SCOPE"


def _signed_in(oauth: OAuth, provider: str = "spotify") -> tuple[Project, str, dict[str, str]]:
    """A project with ``provider`` (MOCK keys) and a user signed in with it: (project, login,
    the user's client headers)."""
    project = oauth.project(shared(provider))
    login = unique_login("connected")
    tokens = oauth.sign_in(project, provider, login)
    return project, login, as_user(project, tokens["access_token"])


def _token(
    http: httpx.Client,
    headers: dict[str, str],
    provider: str = "spotify",
    *,
    user: str = "me",
    account: str | None = None,
    scope: str = "openid",
) -> httpx.Response:
    path = TOKEN.format(user=user, provider=provider)
    if account is not None:
        path = path.replace("/access-token", f"/{account}/access-token")
    return http.post(path, headers=headers, json={"scope": scope})


def _access_token(r: httpx.Response) -> str:
    assert r.status_code == 201, r.text
    assert list(r.json()) == ["access_token"]
    token: str = r.json()["access_token"]
    return token


def test_the_users_connected_account_is_listed_and_its_token_works_at_the_provider(
    oauth: OAuth,
) -> None:
    project, login, headers = _signed_in(oauth)
    user_id = oauth.me(project, headers["x-stack-access-token"])["id"]
    listed = oauth.http.get("/api/v1/connected-accounts/me", headers=headers)
    assert listed.status_code == 200, listed.text
    assert listed.json() == {
        "items": [{"user_id": user_id, "provider": "spotify", "provider_account_id": login}],
        "is_paginated": False,
    }
    server_list = oauth.http.get(
        f"/api/v1/connected-accounts/{user_id}", headers=project.headers("server")
    )
    assert server_list.json() == listed.json()
    access = _access_token(_token(oauth.http, headers))
    assert provider_userinfo(oauth.env, access)["sub"] == login
    # Asked again: the same stored token (the provider still takes it, and it lives long enough).
    assert _access_token(_token(oauth.http, headers)) == access
    # By provider account id; as the server for that user id; through the deprecated route.
    answers = [
        _token(oauth.http, headers, account=login),
        _token(oauth.http, project.headers("server"), user=user_id, account=login),
        oauth.http.post(
            "/api/v1/auth/oauth/connected-accounts/spotify/access-token",
            headers=headers,
            json={"scope": "openid"},
        ),
    ]
    for r in answers:
        assert provider_userinfo(oauth.env, _access_token(r))["sub"] == login


def test_a_token_revoked_at_the_provider_is_replaced_through_the_refresh_token(
    oauth: OAuth,
) -> None:
    project, login, headers = _signed_in(oauth)
    first = _access_token(_token(oauth.http, headers))
    end_access_token(oauth.env, first)
    with pytest.raises(httpx.HTTPStatusError):
        provider_userinfo(oauth.env, first)
    second = _access_token(_token(oauth.http, headers))
    assert second != first
    assert provider_userinfo(oauth.env, second)["sub"] == login
    # The refused token is never handed out again; the new one is kept sealed beside it.
    kept = stored_tokens(oauth.env, project, login)
    access = [(valid, bytes(sealed)) for _, kind, valid, sealed in kept if kind == "access"]
    assert [valid for valid, _ in access] == [False, True]
    assert all(second.encode() not in sealed for _, sealed in access)
    assert _access_token(_token(oauth.http, headers)) == second


def test_a_refresh_token_revoked_at_the_provider_asks_for_a_new_connection(oauth: OAuth) -> None:
    project, login, headers = _signed_in(oauth)
    access = _access_token(_token(oauth.http, headers))
    revoke_grant(oauth.env, "spotify", MOCK_SECRET, valid_refresh_token(oauth.env, project, login))
    with pytest.raises(httpx.HTTPStatusError):  # the grant's access tokens went with it
        provider_userinfo(oauth.env, access)
    assert_known_error(_token(oauth.http, headers), NO_SCOPE, 400)
    # Both tokens are now marked invalid: refused again at once.
    assert not any(valid for _, _, valid, _ in stored_tokens(oauth.env, project, login))
    assert_known_error(_token(oauth.http, headers), NO_SCOPE, 400)


def test_a_scope_the_account_was_not_granted_is_refused(oauth: OAuth) -> None:
    _, _, headers = _signed_in(oauth)
    assert_known_error(_token(oauth.http, headers, scope="openid user-library-read"), NO_SCOPE, 400)


def test_own_keys_of_a_generic_provider_refresh_with_the_scope_the_app_asked_for(
    oauth: OAuth,
) -> None:
    """A generic OpenID Connect provider on the project's own keys: the app asked for
    ``offline_access`` at sign-in (``provider_scope``), so a refresh token was kept."""
    project = oauth.project(generic("acme-sso", oauth.env.provider_url))
    login = unique_login("generic-connected")
    tokens = oauth.sign_in(project, "acme-sso", login, provider_scope="offline_access")
    headers = as_user(project, tokens["access_token"])
    first = _access_token(_token(oauth.http, headers, "acme-sso", scope="openid email"))
    end_access_token(oauth.env, first)
    second = _access_token(_token(oauth.http, headers, "acme-sso", scope="openid email"))
    assert second != first
    assert provider_userinfo(oauth.env, second)["email"] == login


def test_accounts_that_grant_no_api_access_are_neither_listed_nor_tokened(oauth: OAuth) -> None:
    project, login, headers = _signed_in(oauth)
    user_id = oauth.me(project, headers["x-stack-access-token"])["id"]
    extra = _linked(
        oauth.http, project, user_id, provider_config_id="spotify", account_id="no-api",
        allow_connected_accounts=False,
    )  # fmt: skip
    assert extra.status_code == 201, extra.text
    listed = oauth.http.get("/api/v1/connected-accounts/me", headers=headers).json()["items"]
    assert [a["provider_account_id"] for a in listed] == [login]
    refusals = [
        _token(oauth.http, headers, account="no-api"),
        _token(oauth.http, headers, account="somebody-else"),
    ]
    for r in refusals:
        assert_known_error(r, "OAUTH_CONNECTION_NOT_CONNECTED_TO_USER", 400)
    # A connected account linked by the API has no tokens: nothing grants the scope.
    oauth.http.patch(
        f"/api/v1/oauth-providers/{user_id}/{extra.json()['id']}",
        headers=project.headers("server"),
        json={"allow_connected_accounts": True},
    )
    assert_known_error(_token(oauth.http, headers, account="no-api"), NO_SCOPE, 400)
    assert_known_error(
        _token(oauth.http, headers, "not-a-provider"),
        "OAUTH_PROVIDER_NOT_FOUND_OR_NOT_ENABLED",
        400,
    )


def test_a_client_reaches_only_its_own_users_connected_accounts(oauth: OAuth) -> None:
    project, _, headers = _signed_in(oauth)
    owner = oauth.me(project, headers["x-stack-access-token"])["id"]
    other = as_user(project, sign_up(oauth.http, project)["access_token"])
    r = oauth.http.get(f"/api/v1/connected-accounts/{owner}", headers=other)
    assert (r.status_code, r.text) == (
        403,
        "Client can only list connected accounts for their own user.",
    )
    r = _token(oauth.http, other, user=owner)
    assert (r.status_code, r.text) == (403, "Client can only access its own connected accounts")
    for r in (
        oauth.http.get("/api/v1/connected-accounts/me", headers=project.headers()),
        _token(oauth.http, project.headers()),
    ):
        assert_known_error(r, "CANNOT_GET_OWN_USER_WITHOUT_USER", 400)
    r = oauth.http.get("/api/v1/connected-accounts/not-a-uuid", headers=project.headers("server"))
    assert_known_error(r, "SCHEMA_ERROR", 400)


def test_shared_keys_give_no_access_tokens(api: ApiServer) -> None:
    """Without STACK_ALLOW_SHARED_OAUTH_ACCESS_TOKENS (the session API): refused before anything
    is looked up, as the contract's shared keys allow no connected-account tokens."""
    project = create_project(api.database_url, shared("github"))
    with api.client() as client:
        headers = as_user(project, sign_up(client, project)["access_token"])
        r = _token(client, headers, "github")
    assert_known_error(r, "OAUTH_ACCESS_TOKEN_NOT_AVAILABLE_WITH_SHARED_OAUTH_KEYS", 400)


def _linked(http: httpx.Client, project: Project, user_id: str, **body: Any) -> httpx.Response:
    return http.post(
        "/api/v1/oauth-providers",
        headers=project.headers("server"),
        json={"user_id": user_id, "allow_sign_in": False, "allow_connected_accounts": True, **body},
    )
