"""Linked accounts: ``/oauth-providers`` (contract §1.4) in upstream's shapes and rules, the
accounts on the user objects (§5.3), ``POST /users`` with ``oauth_providers``, and what
``allow_sign_in`` does to a real sign-in."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import as_user, assert_known_error, create_user, sign_up
from tests.factories import Project
from tests.oauth.flow import Flow, OAuth, generic, shared, unique_login

BASE = "/api/v1/oauth-providers"
UUID_ZERO = "e889e6de-8da5-47fd-87fd-a8db34b14ec4"


def _user(http: httpx.Client, project: Project) -> tuple[str, dict[str, str]]:
    """A new password user: its id and its client headers."""
    tokens = sign_up(http, project)
    return tokens["user_id"], as_user(project, tokens["access_token"])


def _link(http: httpx.Client, project: Project, user_id: str, **body: Any) -> httpx.Response:
    sent = {"user_id": user_id, "provider_config_id": "spotify", "account_id": "acct-1",
            "email": "linked@example.com", "allow_sign_in": True,
            "allow_connected_accounts": True, **body}  # fmt: skip
    return http.post(BASE, headers=project.headers("server"), json=sent)


def _linked_id(r: httpx.Response) -> str:
    assert r.status_code == 201, r.text
    account_id: str = r.json()["id"]
    return account_id


def test_a_linked_account_in_upstreams_shapes(oauth: OAuth) -> None:
    project = oauth.project(shared("spotify"))
    user_id, client = _user(oauth.http, project)
    # A server names the user by id, or as "me" with the user's token.
    as_server = as_user(project, client["x-stack-access-token"], "server")
    created = oauth.http.post(
        BASE,
        headers=as_server,
        json={"user_id": "me", "provider_config_id": "spotify", "account_id": "acct-1",
              "email": "linked@example.com", "allow_sign_in": True,
              "allow_connected_accounts": True},
    )  # fmt: skip
    account = _linked_id(created)
    server_shape = {
        "user_id": user_id, "id": account, "email": "linked@example.com",
        "provider_config_id": "spotify", "type": "spotify", "allow_sign_in": True,
        "allow_connected_accounts": True, "account_id": "acct-1",
    }  # fmt: skip
    assert created.json() == server_shape
    client_shape = {k: v for k, v in server_shape.items() if k != "account_id"}
    assert oauth.http.get(f"{BASE}/me/{account}", headers=client).json() == client_shape
    assert oauth.http.get(
        f"{BASE}/{user_id}/{account}", headers=project.headers("server")
    ).json() == (server_shape)
    listed = oauth.http.get(BASE, headers=client, params={"user_id": "me"})
    assert listed.json() == {"items": [client_shape], "is_paginated": False}
    # The user objects carry it too, for every audience (contract §5.3).
    linked = [{"id": "spotify", "account_id": "acct-1", "email": "linked@example.com"}]
    assert oauth.http.get("/api/v1/users/me", headers=client).json()["oauth_providers"] == linked
    server_user = oauth.http.get(
        f"/api/v1/users/{user_id}", headers=project.headers("server")
    ).json()
    assert server_user["oauth_providers"] == linked


def test_update_and_delete(oauth: OAuth) -> None:
    project = oauth.project(shared("spotify"))
    user_id, client = _user(oauth.http, project)
    account = _linked_id(_link(oauth.http, project, user_id))
    r = oauth.http.patch(
        f"{BASE}/me/{account}", headers=client, json={"allow_connected_accounts": False}
    )
    assert (r.json()["allow_sign_in"], r.json()["allow_connected_accounts"]) == (True, False)
    # A client may change the two flags only; a server also the email and the account id.
    r = oauth.http.patch(f"{BASE}/me/{account}", headers=client, json={"email": "x@example.com"})
    assert_known_error(r, "SCHEMA_ERROR", 400)
    r = oauth.http.patch(
        f"{BASE}/{user_id}/{account}",
        headers=project.headers("server"),
        json={"email": "updated@example.com", "account_id": "acct-2"},
    )
    assert (r.json()["email"], r.json()["account_id"]) == ("updated@example.com", "acct-2")
    assert (
        oauth.http.get(f"{BASE}/me/{account}", headers=client).json()["email"]
        == "updated@example.com"
    )
    r = oauth.http.delete(f"{BASE}/me/{account}", headers=client)
    assert (r.status_code, r.json()) == (200, {"success": True})
    for method in ("GET", "PATCH", "DELETE"):
        gone = oauth.http.request(method, f"{BASE}/me/{account}", headers=client,
                            json={} if method == "PATCH" else None)  # fmt: skip
        assert (gone.status_code, gone.text) == (
            404, f"OAuth provider {account} for user {user_id} not found"
        )  # fmt: skip
    r = oauth.http.get(f"{BASE}/me/not-a-uuid", headers=client)
    assert_known_error(r, "SCHEMA_ERROR", 400)


def test_a_client_reaches_only_its_own_users_accounts(oauth: OAuth) -> None:
    project = oauth.project(shared("spotify"))
    owner, _ = _user(oauth.http, project)
    account = _linked_id(_link(oauth.http, project, owner))
    _, other = _user(oauth.http, project)
    refusals = {
        "list": oauth.http.get(BASE, headers=other, params={"user_id": owner}),
        "read": oauth.http.get(f"{BASE}/{owner}/{account}", headers=other),
        "update": oauth.http.patch(f"{BASE}/{owner}/{account}", headers=other, json={}),
        "delete": oauth.http.delete(f"{BASE}/{owner}/{account}", headers=other),
    }
    for action, r in refusals.items():
        assert (r.status_code, r.text) == (
            403, f"Client can only {action} OAuth providers for their own user."
        )  # fmt: skip
    assert oauth.http.get(BASE, headers=other).status_code == 403  # a client must name its user
    # The server reaches any user's, but only under its own user id.
    server = project.headers("server")
    assert oauth.http.get(f"{BASE}/{owner}/{account}", headers=server).status_code == 200
    other_id = oauth.http.get("/api/v1/users/me", headers=other).json()["id"]
    r = oauth.http.get(f"{BASE}/{other_id}/{account}", headers=server)
    assert (r.status_code, r.text) == (
        404,
        f"OAuth provider {account} for user {other_id} not found",
    )
    assert oauth.http.get(f"{BASE}/{owner}/{UUID_ZERO}", headers=server).status_code == 404
    assert_known_error(oauth.http.get(BASE, headers=server, params={"user_id": UUID_ZERO}),
                       "USER_NOT_FOUND", 404)  # fmt: skip
    everyone = oauth.http.get(BASE, headers=server).json()["items"]
    assert [a["id"] for a in everyone] == [account]


def test_upstreams_rules_for_linked_accounts(oauth: OAuth) -> None:
    project = oauth.project(shared("spotify"))
    user_id, _ = _user(oauth.http, project)
    first = _linked_id(_link(oauth.http, project, user_id, account_id="one"))
    # One account of a provider signs a user in.
    r = _link(oauth.http, project, user_id, account_id="two")
    assert (r.status_code, r.text) == (
        400, "The same provider type with sign-in enabled already exists for this user."
    )  # fmt: skip
    second = _linked_id(_link(oauth.http, project, user_id, account_id="two", allow_sign_in=False))
    server = project.headers("server")
    r = oauth.http.patch(f"{BASE}/{user_id}/{second}", headers=server, json={"allow_sign_in": True})
    assert r.status_code == 400, r.text
    oauth.http.patch(f"{BASE}/{user_id}/{first}", headers=server, json={"allow_sign_in": False})
    r = oauth.http.patch(f"{BASE}/{user_id}/{second}", headers=server, json={"allow_sign_in": True})
    assert r.json()["allow_sign_in"] is True
    # One row per provider account and user.
    r = _link(oauth.http, project, user_id, account_id="one", allow_sign_in=False)
    assert (r.status_code, r.text) == (
        400, "The same provider type with the same account ID already exists for this user."
    )  # fmt: skip
    # A provider account signs one user in only.
    other_id, _ = _user(oauth.http, project)
    r = _link(oauth.http, project, other_id, account_id="two")
    assert_known_error(r, "OAUTH_PROVIDER_ACCOUNT_ID_ALREADY_USED_FOR_SIGN_IN", 400)
    assert (
        _link(oauth.http, project, other_id, account_id="two", allow_sign_in=False).status_code
        == 201
    )


def test_providers_the_project_does_not_have(oauth: OAuth) -> None:
    project = oauth.project(shared("spotify"), generic("acme-sso", oauth.env.provider_url))
    user_id, client = _user(oauth.http, project)
    r = _link(oauth.http, project, user_id, provider_config_id="github")
    assert (r.status_code, r.text) == (404, "OAuth provider github not found or not configured")
    built_in = _linked_id(_link(oauth.http, project, user_id))
    _linked_id(_link(oauth.http, project, user_id, provider_config_id="acme-sso"))
    # Both providers leave the project: the built-in one's account is still listed, read and
    # unlinked (its id is its type); the generic one's is left out, as upstream leaves it.
    admin = project.headers("admin")
    r = oauth.http.post(
        "/api/v1/internal/config/override/environment/reset-keys",
        headers=admin,
        json={"keys": ["auth.oauth.providers"]},
    )
    assert r.status_code == 200, r.text
    listed = oauth.http.get(BASE, headers=client, params={"user_id": "me"}).json()["items"]
    assert [(a["id"], a["type"]) for a in listed] == [(built_in, "spotify")]
    assert oauth.http.get(f"{BASE}/me/{built_in}", headers=client).status_code == 200
    assert (
        oauth.http.get(f"/api/v1/users/{user_id}", headers=project.headers("server")).status_code
        == 200
    )
    assert oauth.http.delete(f"{BASE}/me/{built_in}", headers=client).status_code == 200


def test_post_users_links_the_accounts_it_names_and_they_sign_in(oauth: OAuth) -> None:
    project = oauth.project(shared("github"))
    login = unique_login("imported")
    user = create_user(
        oauth.http, project, oauth_providers=[{"id": "github", "account_id": login, "email": login}]
    )
    assert user["oauth_providers"] == [{"id": "github", "account_id": login, "email": login}]
    tokens = oauth.sign_in(project, "github", login)
    assert tokens["is_new_user"] is False
    assert oauth.me(project, tokens["access_token"])["id"] == user["id"]
    r = oauth.http.post(
        "/api/v1/users",
        headers=project.headers("server"),
        json={"oauth_providers": [{"id": "gitlab", "account_id": "x", "email": None}]},
    )
    assert (r.status_code, r.text) == (400, "OAuth provider gitlab not found")
    r = oauth.http.post(
        "/api/v1/users",
        headers=project.headers("server"),
        json={"oauth_providers": [{"id": "github", "account_id": login, "email": None}]},
    )
    assert_known_error(r, "OAUTH_PROVIDER_ACCOUNT_ID_ALREADY_USED_FOR_SIGN_IN", 400)


def test_an_account_whose_sign_in_is_off_signs_nobody_in(oauth: OAuth) -> None:
    """With duplicates allowed (no merge by email), the provider account signs its user in
    while ``allow_sign_in`` is on; turned off, the same login makes a new user."""
    project = oauth.project(
        shared("github"), **{"auth.oauth.accountMergeStrategy": "allow_duplicates"}
    )
    login = unique_login("switch")
    first = oauth.sign_in(project, "github", login)
    user = oauth.me(project, first["access_token"])
    assert (
        oauth.me(project, oauth.sign_in(project, "github", login)["access_token"])["id"]
        == (user["id"])
    )
    (account,) = oauth.http.get(
        BASE, headers=as_user(project, first["access_token"]), params={"user_id": "me"}
    ).json()["items"]
    r = oauth.http.patch(
        f"{BASE}/me/{account['id']}",
        headers=as_user(project, first["access_token"]),
        json={"allow_sign_in": False},
    )
    assert r.json()["allow_sign_in"] is False
    again = oauth.sign_in(project, "github", login)
    assert again["is_new_user"] is True
    assert oauth.me(project, again["access_token"])["id"] != user["id"]


def test_projects_current_lists_the_providers_users_may_sign_in_with(oauth: OAuth) -> None:
    project = oauth.project(
        shared("github"),
        shared("gitlab", allowSignIn=False),
        generic("acme-sso", oauth.env.provider_url),
        {"auth.oauth.providers.typeless": {"allowSignIn": True}},
    )
    config = oauth.http.get("/api/v1/projects/current", headers=project.headers()).json()["config"]
    assert config["enabled_oauth_providers"] == [{"id": "acme-sso"}, {"id": "github"}]
    # Each id is one authorize takes.
    for provider in ("acme-sso", "github"):
        r = oauth.http.get(
            f"/api/v1/auth/oauth/authorize/{provider}", params=Flow(project, provider).query()
        )
        assert r.status_code == 307, r.text
