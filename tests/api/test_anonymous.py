"""Anonymous users (POST /auth/anonymous/sign-up, upgrade by password sign-up) and restricted
users (restricted by an admin, or unverified where verification is required)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.api.helpers import (
    PASSWORD,
    assert_known_error,
    jwt_parts,
    refresh,
    sign_up,
    unique_email,
)
from tests.api.team_helpers import new_user, webhook_events
from tests.conftest import Project

ANON = "/api/v1/auth/anonymous/sign-up"
ME = "/api/v1/users/me"


def _anonymous(http: httpx.Client, project: Project) -> dict[str, Any]:
    r = http.post(ANON, headers=project.headers())
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _as(project: Project, token: str, **extra: str) -> dict[str, str]:
    return project.headers(**{"x-stack-access-token": token, **extra})


def test_anonymous_sign_up_returns_an_anonymous_session(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    tokens = _anonymous(http, project)
    assert set(tokens) == {"access_token", "refresh_token", "user_id"}
    claims = jwt_parts(tokens["access_token"])[1]
    assert claims["aud"] == f"{project.id}:anon"
    assert claims["sub"] == tokens["user_id"]
    assert (claims["is_anonymous"], claims["restricted_reason"]) == (True, {"type": "anonymous"})
    refused = http.get(ME, headers=_as(project, tokens["access_token"]))
    assert_known_error(refused, "ANONYMOUS_AUTHENTICATION_NOT_ALLOWED", 401)
    me = http.get(
        ME, headers=_as(project, tokens["access_token"], **{"x-stack-allow-anonymous-user": "true"})
    ).json()
    assert (me["is_anonymous"], me["primary_email"], me["display_name"]) == (True, None, None)
    assert me["has_password"] is False
    refreshed = refresh(http, project, tokens["refresh_token"]).json()["access_token"]
    assert jwt_parts(refreshed)[1]["aud"] == f"{project.id}:anon"
    created = [p for e, p in webhook_events(migrated_database, project) if e == "user.created"]
    assert [p["data"]["id"] for p in created] == [tokens["user_id"]]
    assert created[0]["data"]["is_anonymous"] is True


def test_anonymous_sign_up_works_when_sign_up_is_off_but_upgrading_does_not(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"auth.allowSignUp": False})
    tokens = _anonymous(http, project)
    r = http.post(
        "/api/v1/auth/password/sign-up",
        headers=_as(project, tokens["access_token"], **{"x-stack-allow-anonymous-user": "true"}),
        json={"email": unique_email(), "password": PASSWORD},
    )
    assert_known_error(r, "SIGN_UP_NOT_ENABLED", 400)


def test_anonymous_users_are_listed_only_on_request(http: httpx.Client, project: Project) -> None:
    tokens = _anonymous(http, project)
    server = project.headers("server")
    assert http.get("/api/v1/users", headers=server).json()["items"] == []
    with_anon = http.get("/api/v1/users", headers=server, params={"include_anonymous": "true"})
    assert [u["id"] for u in with_anon.json()["items"]] == [tokens["user_id"]]


def test_password_sign_up_upgrades_the_anonymous_user_in_place(
    http: httpx.Client, make_project: Callable[..., Project], migrated_database: str
) -> None:
    project = make_project({"teams.createPersonalTeamOnSignUp": True})
    tokens = _anonymous(http, project)
    anon = _as(project, tokens["access_token"], **{"x-stack-allow-anonymous-user": "true"})
    team = http.get(ME, headers=anon).json()["selected_team"]
    assert team["display_name"] == "Personal Team"
    http.patch(
        f"/api/v1/users/{tokens['user_id']}",
        headers=project.headers("server"),
        json={"client_metadata": {"cart": [1, 2]}, "server_metadata": {"crm": 7}},
    )
    email = unique_email("upgraded")
    r = http.post(
        "/api/v1/auth/password/sign-up", headers=anon, json={"email": email, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == tokens["user_id"]
    claims = jwt_parts(r.json()["access_token"])[1]
    assert (claims["aud"], claims["is_anonymous"], claims["email"]) == (project.id, False, email)
    me = http.get(ME, headers=_as(project, r.json()["access_token"])).json()
    assert (me["is_anonymous"], me["has_password"], me["primary_email"]) == (False, True, email)
    assert me["client_metadata"] == {"cart": [1, 2]}
    assert me["selected_team"]["id"] == team["id"]
    assert me["selected_team"]["display_name"] == f"{email}'s Team"
    signed_in = http.post(
        "/api/v1/auth/password/sign-in",
        headers=project.headers(),
        json={"email": email, "password": PASSWORD},
    )
    assert signed_in.json()["user_id"] == tokens["user_id"]
    kinds = [e for e, p in webhook_events(migrated_database, project) if e.startswith("user.")]
    assert kinds == ["user.created", "user.updated", "user.updated"]


def test_upgrading_to_an_email_in_use_is_refused(http: httpx.Client, project: Project) -> None:
    email = unique_email("taken")
    sign_up(http, project, email)
    tokens = _anonymous(http, project)
    r = http.post(
        "/api/v1/auth/password/sign-up",
        headers=_as(project, tokens["access_token"], **{"x-stack-allow-anonymous-user": "true"}),
        json={"email": email, "password": PASSWORD},
    )
    assert_known_error(r, "USER_EMAIL_ALREADY_EXISTS", 409)
    me = http.get(
        ME, headers=_as(project, tokens["access_token"], **{"x-stack-allow-anonymous-user": "true"})
    ).json()
    assert (me["is_anonymous"], me["primary_email"]) == (True, None)


def test_a_user_restricted_by_an_admin_gets_restricted_tokens_until_lifted(
    http: httpx.Client, project: Project
) -> None:
    user = new_user(http, project)
    r = http.patch(
        f"/api/v1/users/{user.id}",
        headers=project.headers("server"),
        json={"restricted_by_admin": True, "restricted_by_admin_reason": "chargeback"},
    )
    assert r.json()["is_restricted"] is True
    token = refresh(http, project, user.refresh_token).json()["access_token"]
    claims = jwt_parts(token)[1]
    assert claims["aud"] == f"{project.id}:restricted"
    assert claims["restricted_reason"] == {"type": "restricted_by_administrator"}
    refused = http.get(ME, headers=_as(project, token))
    assert_known_error(
        refused,
        "RESTRICTED_USER_NOT_ALLOWED",
        403,
        {"restricted_reason": {"type": "restricted_by_administrator"}},
    )
    allowed = http.get(ME, headers=_as(project, token, **{"x-stack-allow-restricted-user": "true"}))
    assert allowed.json()["restricted_by_admin_reason"] == "chargeback"
    http.patch(
        f"/api/v1/users/{user.id}",
        headers=project.headers("server"),
        json={"restricted_by_admin": False},
    )
    lifted = refresh(http, project, user.refresh_token).json()["access_token"]
    assert jwt_parts(lifted)[1]["aud"] == project.id
    assert http.get(ME, headers=_as(project, lifted)).status_code == 200


def test_verifying_the_email_lifts_the_verification_restriction(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"onboarding.requireEmailVerification": True})
    user = new_user(http, project, verified=False)
    token = refresh(http, project, user.refresh_token).json()["access_token"]
    assert jwt_parts(token)[1]["restricted_reason"] == {"type": "email_not_verified"}
    http.patch(
        f"/api/v1/users/{user.id}",
        headers=project.headers("server"),
        json={"primary_email_verified": True},
    )
    verified = refresh(http, project, user.refresh_token).json()["access_token"]
    assert jwt_parts(verified)[1]["is_restricted"] is False


def test_a_token_that_outlived_its_user_gets_clean_answers(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"teams.allowClientTeamCreation": True, "apiKeys.enabled.user": True})
    tokens = _anonymous(http, project)
    deleted = http.delete(f"/api/v1/users/{tokens['user_id']}", headers=project.headers("server"))
    assert deleted.status_code == 200
    stale = _as(project, tokens["access_token"], **{"x-stack-allow-anonymous-user": "true"})
    team = http.post("/api/v1/teams", headers=stale, json={"display_name": "Orphan"})
    assert_known_error(team, "USER_NOT_FOUND", 404)
    key = http.post(
        "/api/v1/user-api-keys",
        headers=stale,
        json={"description": "x", "expires_at_millis": None, "user_id": "me"},
    )
    assert_known_error(key, "USER_NOT_FOUND", 404)
    channel = http.post(
        "/api/v1/contact-channels",
        headers=stale,
        json={"user_id": "me", "value": unique_email(), "type": "email", "used_for_auth": False},
    )
    assert_known_error(channel, "USER_NOT_FOUND", 404)
    # Signing up with the stale anonymous token is an ordinary sign-up.
    email = unique_email("after")
    r = http.post(
        "/api/v1/auth/password/sign-up", headers=stale, json={"email": email, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] != tokens["user_id"]
