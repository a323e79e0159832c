"""The admin project API: /internal/projects (int-user) and /internal/projects/current (admin)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.helpers import (
    PASSWORD,
    admin_headers,
    assert_known_error,
    refresh,
    rendered_config,
    sign_up,
    unique_email,
)
from tests.api.team_helpers import create_team, new_user
from tests.conftest import ApiServer, Project
from tests.factories import INTERNAL_TEAM_ID, query_value


def as_internal_user(internal: Project, access_token: str) -> dict[str, str]:
    return internal.headers("client", **{"x-stack-access-token": access_token})


def create_owned_project(
    http: httpx.Client, internal: Project, token: str, team_id: str, **body: Any
) -> dict[str, Any]:
    r = http.post(
        "/api/v1/internal/projects",
        headers=as_internal_user(internal, token),
        json={"display_name": "My app", "owner_team_id": team_id, **body},
    )
    assert r.status_code == 201, r.text
    project: dict[str, Any] = r.json()
    return project


@pytest.fixture
def created(http: httpx.Client, internal: Project, admin_access_token: str) -> dict[str, Any]:
    """A project the seeded admin creates for the internal owner team."""
    return create_owned_project(http, internal, admin_access_token, INTERNAL_TEAM_ID)


@pytest.fixture
def outsider(http: httpx.Client, internal: Project) -> dict[str, str]:
    """A second internal user (signed up, so with a personal team), not in the internal team."""
    tokens = sign_up(http, internal, unique_email("outsider"))
    me = http.get("/api/v1/users/me", headers=as_internal_user(internal, tokens["access_token"]))
    assert me.status_code == 200, me.text
    team_id = me.json()["selected_team_id"]
    assert team_id
    assert team_id != INTERNAL_TEAM_ID
    return {"token": tokens["access_token"], "team_id": team_id}


def test_create_project_returns_201_with_admin_object_and_legacy_config(
    http: httpx.Client, internal: Project, admin_access_token: str
) -> None:
    project = create_owned_project(
        http,
        internal,
        admin_access_token,
        INTERNAL_TEAM_ID,
        description="for tests",
        config={"magic_link_enabled": True, "domains": [{"domain": "https://app.example.com",
                                                         "handler_path": "/auth"}]},
    )  # fmt: skip
    assert project["display_name"] == "My app"
    assert project["description"] == "for tests"
    assert project["is_production_mode"] is False
    assert project["owner_team_id"] == INTERNAL_TEAM_ID
    assert isinstance(project["created_at_millis"], int)
    config = project["config"]
    assert config["credential_enabled"] is True  # new projects: password sign-in on
    assert config["sign_up_enabled"] is True
    assert config["allow_localhost"] is False  # new projects refuse localhost unless asked
    assert config["magic_link_enabled"] is True
    assert config["domains"] == [{"domain": "https://app.example.com", "handler_path": "/auth"}]
    assert config["team_creator_default_permissions"] == [{"id": "team_admin"}]
    assert config["team_member_default_permissions"] == [{"id": "team_member"}]
    assert config["email_config"] == {"type": "shared"}
    assert config["oauth_account_merge_strategy"] == "link_method"

    listed = http.get(
        "/api/v1/internal/projects", headers=as_internal_user(internal, admin_access_token)
    )
    assert listed.status_code == 200
    assert project["id"] in [p["id"] for p in listed.json()["items"]]
    assert listed.json()["is_paginated"] is False


def test_project_list_needs_a_signed_in_internal_user(
    http: httpx.Client, internal: Project, project: Project, admin_access_token: str
) -> None:
    r = http.get("/api/v1/internal/projects", headers=internal.headers("client"))
    assert_known_error(r, "USER_AUTHENTICATION_REQUIRED", 401)
    r = http.get("/api/v1/internal/projects", headers=project.headers("admin"))
    assert_known_error(r, "EXPECTED_INTERNAL_PROJECT", 401)


def test_patch_legacy_config_takes_effect_on_the_next_request(
    http: httpx.Client, admin_access_token: str, created: dict[str, Any]
) -> None:
    admin = admin_headers(created["id"], admin_access_token)
    client = {"x-stack-access-type": "client", "x-stack-project-id": created["id"]}
    body = {"email": unique_email(), "password": PASSWORD}
    assert http.post("/api/v1/auth/password/sign-up", headers=client, json=body).status_code == 200

    r = http.patch(
        "/api/v1/internal/projects/current",
        headers=admin,
        json={"display_name": "Renamed", "config": {"sign_up_enabled": False}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["display_name"] == "Renamed"
    assert r.json()["config"]["sign_up_enabled"] is False
    body = {"email": unique_email(), "password": PASSWORD}
    r = http.post("/api/v1/auth/password/sign-up", headers=client, json=body)
    assert_known_error(r, "SIGN_UP_NOT_ENABLED", 400)
    assert http.get("/api/v1/projects/current", headers=client).json()["config"][
        "sign_up_enabled"
    ] is False  # fmt: skip

    r = http.patch(
        "/api/v1/internal/projects/current",
        headers=admin,
        json={"config": {"sign_up_enabled": True}},
    )
    assert r.json()["config"]["sign_up_enabled"] is True
    r = http.post("/api/v1/auth/password/sign-up", headers=client, json=body)
    assert r.status_code == 200, r.text


def test_patch_translates_every_legacy_field_and_reads_it_back(
    http: httpx.Client, admin_access_token: str, created: dict[str, Any]
) -> None:
    config = {
        "sign_up_enabled": False,
        "credential_enabled": False,
        "magic_link_enabled": True,
        "passkey_enabled": True,
        "allow_localhost": True,  # new projects start without it, so this proves the write
        "client_team_creation_enabled": True,
        "client_user_deletion_enabled": True,
        "allow_user_api_keys": True,
        "allow_team_api_keys": True,
        "create_team_on_sign_up": True,
        "require_email_verification": True,
        "oauth_providers": [
            {"id": "github", "type": "shared"},
            {"id": "google", "type": "standard", "client_id": "cid", "client_secret": "cs"},
        ],
        "domains": [
            {"domain": "https://a.example.com", "handler_path": "/handler"},
            {"domain": "http://b.example.com:8080", "handler_path": "/auth/handler"},
        ],
        "email_config": {
            "type": "standard",
            "host": "smtp.example.com",
            "port": 587,
            "username": "mailer",
            "password": "smtp-secret",
            "sender_name": "My App",
            "sender_email": "noreply@example.com",
        },
        "team_creator_default_permissions": [{"id": "team_admin"}, {"id": "team_member"}],
        "team_member_default_permissions": [],
        "user_default_permissions": [{"id": "project_reader"}],
        "oauth_account_merge_strategy": "raise_error",
    }
    r = http.patch(
        "/api/v1/internal/projects/current",
        headers=admin_headers(created["id"], admin_access_token),
        json={"config": config},
    )
    assert r.status_code == 200, r.text
    got = http.get(
        "/api/v1/internal/projects/current",
        headers=admin_headers(created["id"], admin_access_token),
    ).json()["config"]
    for key in (
        "sign_up_enabled", "credential_enabled", "magic_link_enabled", "passkey_enabled",
        "allow_localhost", "client_team_creation_enabled", "client_user_deletion_enabled",
        "allow_user_api_keys", "allow_team_api_keys", "create_team_on_sign_up",
        "domains", "email_config", "oauth_account_merge_strategy",
    ):  # fmt: skip
        assert got[key] == config[key], key
    # Written, but not part of upstream's admin object: the rendered config shows it.
    assert "require_email_verification" not in got
    rendered = rendered_config(http, admin_headers(created["id"], admin_access_token))
    assert rendered["onboarding"]["requireEmailVerification"] is True
    assert sorted(p["id"] for p in got["team_creator_default_permissions"]) == [
        "team_admin",
        "team_member",
    ]
    assert got["team_member_default_permissions"] == []
    assert got["user_default_permissions"] == [{"id": "project_reader"}]
    providers = {p["id"]: p for p in got["oauth_providers"]}
    assert providers["github"]["type"] == "shared"
    assert providers["google"]["type"] == "standard"
    assert providers["google"]["client_id"] == "cid"
    assert got["enabled_oauth_providers"] == [{"id": "github"}, {"id": "google"}]

    # Replacing the domain list drops the old entries (a list is a whole value, not a merge).
    r = http.patch(
        "/api/v1/internal/projects/current",
        headers=admin_headers(created["id"], admin_access_token),
        json={"config": {"domains": [{"domain": "https://c.example.com", "handler_path": "/h"}]}},
    )
    assert r.json()["config"]["domains"] == [
        {"domain": "https://c.example.com", "handler_path": "/h"}
    ]
    assert r.json()["config"]["magic_link_enabled"] is True  # untouched fields stay


@pytest.mark.parametrize(
    "body",
    [
        {"config": {"domains": [{"domain": "javascript:alert(1)", "handler_path": "/h"}]}},
        # Trusted domains must read the same to a browser as to us (see authstack_core.urls).
        {"config": {"domains": [{"domain": "https://app.test\\.evil.test", "handler_path": "/h"}]}},
        {"config": {"domains": [{"domain": "https://a%2fb.example.com", "handler_path": "/h"}]}},
        {"config": {"domains": [{"domain": "https://user:pw@app.test", "handler_path": "/h"}]}},
        {"config": {"domains": [{"domain": "https://app.test:99999", "handler_path": "/h"}]}},
        {"config": {"domains": [{"domain": "https://x.example.com", "handler_path": "h"}]}},
        {"config": {"email_config": {"type": "standard", "host": "smtp.example.com"}}},
        {"config": {"oauth_providers": [{"id": "google", "type": "standard"}]}},
        {"config": {"oauth_account_merge_strategy": "merge_everything"}},
        {"config": {"unknown_flag": True}},
        {"display_name": ""},
        {"display_name": 42},
    ],
)
def test_invalid_project_updates_are_schema_errors(
    http: httpx.Client, admin_access_token: str, created: dict[str, Any], body: dict[str, Any]
) -> None:
    r = http.patch(
        "/api/v1/internal/projects/current",
        headers=admin_headers(created["id"], admin_access_token),
        json=body,
    )
    assert_known_error(r, "SCHEMA_ERROR", 400)


def test_delete_current_project_removes_it(
    http: httpx.Client, internal: Project, admin_access_token: str, created: dict[str, Any]
) -> None:
    admin = admin_headers(created["id"], admin_access_token)
    r = http.delete("/api/v1/internal/projects/current", headers=admin)
    assert r.status_code == 200
    assert r.json() == {"success": True}
    r = http.get("/api/v1/internal/projects/current", headers=admin)
    assert_known_error(r, "CURRENT_PROJECT_NOT_FOUND", 400)
    listed = http.get(
        "/api/v1/internal/projects", headers=as_internal_user(internal, admin_access_token)
    ).json()["items"]
    assert created["id"] not in [p["id"] for p in listed]


def test_internal_project_cannot_be_deleted(http: httpx.Client, admin_access_token: str) -> None:
    r = http.delete(
        "/api/v1/internal/projects/current", headers=admin_headers("internal", admin_access_token)
    )
    assert r.status_code == 400
    r = http.get(
        "/api/v1/internal/projects/current", headers=admin_headers("internal", admin_access_token)
    )
    assert r.status_code == 200


def test_non_admin_internal_user_cannot_see_or_change_another_teams_projects(
    http: httpx.Client, internal: Project, admin_access_token: str, outsider: dict[str, str]
) -> None:
    theirs = create_owned_project(http, internal, admin_access_token, INTERNAL_TEAM_ID)
    mine = create_owned_project(http, internal, outsider["token"], outsider["team_id"])

    listed = http.get(
        "/api/v1/internal/projects", headers=as_internal_user(internal, outsider["token"])
    ).json()["items"]
    assert [p["id"] for p in listed] == [mine["id"]]

    r = http.post(
        "/api/v1/internal/projects",
        headers=as_internal_user(internal, outsider["token"]),
        json={"display_name": "Squatter", "owner_team_id": INTERNAL_TEAM_ID},
    )
    assert_known_error(
        r,
        "TEAM_MEMBERSHIP_NOT_FOUND",
        404,
        {"team_id": INTERNAL_TEAM_ID, "user_id": r.json()["details"]["user_id"]},
    )

    theirs_admin = admin_headers(theirs["id"], outsider["token"])
    for method, path, body in (
        ("GET", "/api/v1/internal/projects/current", None),
        ("PATCH", "/api/v1/internal/projects/current", {"config": {"sign_up_enabled": False}}),
        ("DELETE", "/api/v1/internal/projects/current", None),
        ("GET", "/api/v1/internal/api-keys", None),
        ("GET", "/api/v1/users", None),
    ):
        r = http.request(method, path, headers=theirs_admin, json=body)
        assert_known_error(r, "ADMIN_ACCESS_TOKEN_IS_NOT_ADMIN", 401)
    still = http.get(
        "/api/v1/internal/projects/current", headers=admin_headers(theirs["id"], admin_access_token)
    )
    assert still.json()["config"]["sign_up_enabled"] is True

    # ...while their own project is fully theirs.
    r = http.get(
        "/api/v1/internal/projects/current", headers=admin_headers(mine["id"], outsider["token"])
    )
    assert r.status_code == 200
    assert r.json()["owner_team_id"] == outsider["team_id"]


def test_metrics_count_users_and_list_recent_sign_ups(
    http: httpx.Client, admin_access_token: str, created: dict[str, Any]
) -> None:
    client = {"x-stack-access-type": "client", "x-stack-project-id": created["id"]}
    emails = [unique_email("m") for _ in range(3)]
    for email in emails:
        r = http.post(
            "/api/v1/auth/password/sign-up", headers=client, json={"email": email,
                                                                    "password": PASSWORD}
        )  # fmt: skip
        assert r.status_code == 200
    r = http.get(
        "/api/v1/internal/metrics", headers=admin_headers(created["id"], admin_access_token)
    )
    assert r.status_code == 200, r.text
    assert r.json()["total_users"] == 3
    assert [u["primary_email"] for u in r.json()["recently_registered"]] == emails[::-1]


def _send_reset(http: httpx.Client, project_id: str, callback_url: str) -> httpx.Response:
    return http.post(
        "/api/v1/auth/password/send-reset-code",
        headers={"x-stack-access-type": "client", "x-stack-project-id": project_id},
        json={"email": unique_email(), "callback_url": callback_url},
    )


def test_new_projects_refuse_localhost_redirects_unless_asked(
    http: httpx.Client, internal: Project, admin_access_token: str
) -> None:
    plain = create_owned_project(http, internal, admin_access_token, INTERNAL_TEAM_ID)
    asked = create_owned_project(
        http, internal, admin_access_token, INTERNAL_TEAM_ID, config={"allow_localhost": True}
    )
    assert plain["config"]["allow_localhost"] is False
    assert asked["config"]["allow_localhost"] is True
    callback = "http://localhost:3000/handler/password-reset"
    assert_known_error(
        _send_reset(http, plain["id"], callback), "REDIRECT_URL_NOT_WHITELISTED", 400
    )
    assert _send_reset(http, asked["id"], callback).status_code == 200


def _owned_project_count(database_url: str, team_id: str) -> int:
    return int(
        query_value(
            database_url, "SELECT count(*) FROM projects WHERE owner_team_id = %s", (team_id,)
        )
    )


def test_anonymous_internal_user_cannot_create_a_project(
    http: httpx.Client, api: ApiServer, internal: Project
) -> None:
    r = http.post("/api/v1/auth/anonymous/sign-up", headers=internal.headers())
    assert r.status_code == 200, r.text
    anon = internal.headers(
        **{"x-stack-access-token": r.json()["access_token"], "x-stack-allow-anonymous-user": "true"}
    )
    # The internal project gives every new user a personal team, the anonymous one included.
    team_id = http.get("/api/v1/users/me", headers=anon).json()["selected_team_id"]
    assert team_id
    body = {"display_name": "Anonymous app", "owner_team_id": team_id}
    r = http.post("/api/v1/internal/projects", headers=anon, json=body)
    assert_known_error(r, "ANONYMOUS_AUTHENTICATION_NOT_ALLOWED", 401)
    assert _owned_project_count(api.database_url, team_id) == 0

    # The same user, once upgraded to a real account, may.
    upgraded = http.post(
        "/api/v1/auth/password/sign-up",
        headers=anon,
        json={"email": unique_email("upgraded"), "password": PASSWORD},
    )
    assert upgraded.status_code == 200, upgraded.text
    token = upgraded.json()["access_token"]
    r = http.post("/api/v1/internal/projects", headers=as_internal_user(internal, token), json=body)
    assert r.status_code == 201, r.text
    assert _owned_project_count(api.database_url, team_id) == 1


def test_restricted_internal_user_cannot_create_a_project(
    http: httpx.Client, api: ApiServer, internal: Project
) -> None:
    user = new_user(http, internal)
    team = create_team(http, internal, user, display_name="Restricted owner")
    body = {"display_name": "Restricted app", "owner_team_id": team["id"]}
    server = internal.headers("server")
    r = http.patch(f"/api/v1/users/{user.id}", headers=server, json={"restricted_by_admin": True})
    assert r.status_code == 200, r.text
    restricted = refresh(http, internal, user.refresh_token).json()["access_token"]
    r = http.post(
        "/api/v1/internal/projects",
        headers=internal.headers(
            **{"x-stack-access-token": restricted, "x-stack-allow-anonymous-user": "true"}
        ),
        json=body,
    )
    assert_known_error(
        r,
        "RESTRICTED_USER_NOT_ALLOWED",
        403,
        {"restricted_reason": {"type": "restricted_by_administrator"}},
    )
    assert _owned_project_count(api.database_url, team["id"]) == 0

    http.patch(f"/api/v1/users/{user.id}", headers=server, json={"restricted_by_admin": False})
    lifted = refresh(http, internal, user.refresh_token).json()["access_token"]
    r = http.post(
        "/api/v1/internal/projects", headers=as_internal_user(internal, lifted), json=body
    )
    assert r.status_code == 201, r.text
    assert _owned_project_count(api.database_url, team["id"]) == 1
