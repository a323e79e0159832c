"""Refresh tokens and sessions: the token endpoint, sign-out, listing, creation, revocation."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.api.helpers import (
    PASSWORD,
    as_user,
    assert_known_error,
    create_session,
    create_user,
    jwt_parts,
    refresh,
    sign_in_with_password,
    sign_up,
    unique_email,
)
from tests.conftest import Project

TOKEN = "/api/v1/auth/oauth/token"
SESSIONS = "/api/v1/auth/sessions"


def _form(project: Project, refresh_token: str, secret: str | None = None) -> dict[str, str]:
    return {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": project.id,
        "client_secret": secret if secret is not None else project.publishable_client_key,
    }


def _assert_refresh_fails(http: httpx.Client, project: Project, refresh_token: str) -> None:
    assert_known_error(
        refresh(http, project, refresh_token), "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED", 401
    )


# --- the token endpoint -------------------------------------------------------------------------


def test_refresh_grant_returns_a_bearer_access_token_without_refresh_token(
    http: httpx.Client, project: Project
) -> None:
    tokens = sign_up(http, project)
    r = http.post(
        TOKEN,
        data=_form(project, tokens["refresh_token"]),
        headers={
            "accept": "application/json",
            "user-agent": "oauth4webapi/v3.8.3",
            "content-type": "application/x-www-form-urlencoded;charset=UTF-8",
        },
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["token_type"] == "Bearer"
    assert "refresh_token" not in body
    claims = jwt_parts(body["access_token"])[1]
    old = jwt_parts(tokens["access_token"])[1]
    assert claims["sub"] == tokens["user_id"]
    assert claims["refresh_token_id"] == old["refresh_token_id"]
    me = http.get("/api/v1/users/me", headers=as_user(project, body["access_token"]))
    assert me.status_code == 200
    # Not rotated: the same refresh token keeps working.
    assert refresh(http, project, tokens["refresh_token"]).status_code == 200


def test_refresh_accepts_client_id_with_branch(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    form = {**_form(project, tokens["refresh_token"]), "client_id": f"{project.id}#main"}
    assert http.post(TOKEN, data=form).status_code == 200


def test_public_client_sentinel_is_accepted_when_no_key_is_required(
    http: httpx.Client, project: Project
) -> None:
    tokens = sign_up(http, project)
    r = http.post(TOKEN, data=_form(project, tokens["refresh_token"], "__stack_public_client__"))
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "Bearer"


def test_public_client_sentinel_is_refused_when_project_requires_a_key(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"project.requirePublishableClientKey": True})
    tokens = sign_up(http, project)
    r = http.post(TOKEN, data=_form(project, tokens["refresh_token"], "__stack_public_client__"))
    assert_known_error(
        r, "INVALID_OAUTH_CLIENT_ID_OR_SECRET", 400, details={"client_id": project.id}
    )
    assert http.post(TOKEN, data=_form(project, tokens["refresh_token"])).status_code == 200


def test_wrong_client_secret_is_refused(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    r = http.post(TOKEN, data=_form(project, tokens["refresh_token"], "pck_not_the_key_at_all"))
    assert_known_error(
        r, "INVALID_OAUTH_CLIENT_ID_OR_SECRET", 400, details={"client_id": project.id}
    )


def test_unknown_client_id_is_refused(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    client_id = str(uuid.uuid4())
    form = {**_form(project, tokens["refresh_token"]), "client_id": client_id}
    assert_known_error(
        http.post(TOKEN, data=form),
        "INVALID_OAUTH_CLIENT_ID_OR_SECRET",
        400,
        details={"client_id": client_id},
    )


@pytest.mark.parametrize("bad", ["0" * 45, "not-a-token", "x" * 300])
def test_bad_refresh_token_is_not_found_or_expired(
    http: httpx.Client, project: Project, bad: str
) -> None:
    _assert_refresh_fails(http, project, bad)


def test_unsupported_grant_type_is_an_oauth_error(http: httpx.Client, project: Project) -> None:
    form = {**_form(project, "x"), "grant_type": "password"}
    r = http.post(TOKEN, data=form)
    assert 400 <= r.status_code < 500
    assert r.json()["error"] == "unsupported_grant_type"


def test_refresh_by_header(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    r = http.post(
        f"{SESSIONS}/current/refresh",
        headers=project.headers(**{"x-stack-refresh-token": tokens["refresh_token"]}),
    )
    assert r.status_code == 200, r.text
    claims = jwt_parts(r.json()["access_token"])[1]
    assert claims["sub"] == tokens["user_id"]
    bad = http.post(
        f"{SESSIONS}/current/refresh",
        headers=project.headers(**{"x-hexclave-refresh-token": "0" * 45}),
    )
    assert_known_error(bad, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED", 401)


def test_refresh_token_expiry_is_honoured(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    tokens = sign_up(http, project)
    with psycopg.connect(migrated_database) as conn:
        conn.execute(
            "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' "
            "WHERE tenancy_id = %s AND user_id = %s",
            (project.tenancy_id, tokens["user_id"]),
        )
    _assert_refresh_fails(http, project, tokens["refresh_token"])


# --- sign-out and revocation ------------------------------------------------------------------


def test_sign_out_revokes_the_refresh_token(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    other = sign_in_with_password(
        http, project, jwt_parts(tokens["access_token"])[1]["email"], PASSWORD
    ).json()
    r = http.request(
        "DELETE",
        f"{SESSIONS}/current",
        headers={**as_user(project, tokens["access_token"]), "content-type": "application/json"},
        content=b"{}",
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True}
    _assert_refresh_fails(http, project, tokens["refresh_token"])
    # Only that session ended; the user's other session lives on.
    assert refresh(http, project, other["refresh_token"]).status_code == 200
    again = http.delete(f"{SESSIONS}/current", headers=as_user(project, tokens["access_token"]))
    assert_known_error(again, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED", 401)


def test_sign_out_without_user_is_refused(http: httpx.Client, project: Project) -> None:
    r = http.delete(f"{SESSIONS}/current", headers=project.headers())
    assert r.status_code in (400, 401)
    assert "x-stack-known-error" in r.headers


def test_list_own_sessions_marks_the_current_one(http: httpx.Client, project: Project) -> None:
    email = unique_email()
    tokens = sign_up(http, project, email)
    sign_in_with_password(http, project, email, PASSWORD)
    r = http.get(f"{SESSIONS}?user_id=me", headers=as_user(project, tokens["access_token"]))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert len(items) == 2
    current = jwt_parts(tokens["access_token"])[1]["refresh_token_id"]
    assert [i["id"] for i in items if i["is_current_session"]] == [current]
    for item in items:
        assert item["user_id"] == tokens["user_id"]
        assert isinstance(item["created_at"], int)
        assert isinstance(item["last_used_at"], int)
        assert item["is_impersonation"] is False


def test_client_cannot_list_another_users_sessions(http: httpx.Client, project: Project) -> None:
    me, other = sign_up(http, project), sign_up(http, project)
    r = http.get(
        f"{SESSIONS}?user_id={other['user_id']}", headers=as_user(project, me["access_token"])
    )
    assert 400 <= r.status_code < 500
    assert other["user_id"] not in r.text


def test_list_sessions_without_user_id_is_schema_error(
    http: httpx.Client, project: Project
) -> None:
    tokens = sign_up(http, project)
    r = http.get(SESSIONS, headers=as_user(project, tokens["access_token"]))
    assert_known_error(r, "SCHEMA_ERROR", 400)


def test_list_sessions_me_without_user(http: httpx.Client, project: Project) -> None:
    r = http.get(f"{SESSIONS}?user_id=me", headers=project.headers())
    assert_known_error(r, "CANNOT_GET_OWN_USER_WITHOUT_USER", 400)


def test_server_creates_a_session_for_a_user(http: httpx.Client, project: Project) -> None:
    user = create_user(http, project, primary_email=unique_email())
    r = http.post(SESSIONS, headers=project.headers("server"), json={"user_id": user["id"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"access_token", "refresh_token"}
    assert jwt_parts(body["access_token"])[1]["sub"] == user["id"]
    assert refresh(http, project, body["refresh_token"]).status_code == 200
    listed = http.get(f"{SESSIONS}?user_id={user['id']}", headers=project.headers("server"))
    assert len(listed.json()["items"]) == 1


def test_client_cannot_create_sessions(http: httpx.Client, project: Project) -> None:
    user = create_user(http, project)
    r = http.post(SESSIONS, headers=project.headers(), json={"user_id": user["id"]})
    assert_known_error(r, "INSUFFICIENT_ACCESS_TYPE", 401)


def test_creating_a_session_for_an_unknown_user_is_refused(
    http: httpx.Client, project: Project
) -> None:
    missing = str(uuid.uuid4())
    r = http.post(SESSIONS, headers=project.headers("server"), json={"user_id": missing})
    assert_known_error(r, "USER_ID_DOES_NOT_EXIST", 400, details={"user_id": missing})


def _session_ids(http: httpx.Client, project: Project, user_id: str) -> list[str]:
    r = http.get(f"{SESSIONS}?user_id={user_id}", headers=project.headers("server"))
    return [s["id"] for s in r.json()["items"]]


def test_client_deletes_its_own_other_session(http: httpx.Client, project: Project) -> None:
    email = unique_email()
    tokens = sign_up(http, project, email)
    second = sign_in_with_password(http, project, email, PASSWORD).json()
    second_id = jwt_parts(second["access_token"])[1]["refresh_token_id"]
    r = http.delete(
        f"{SESSIONS}/{second_id}?user_id=me", headers=as_user(project, tokens["access_token"])
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True}
    _assert_refresh_fails(http, project, second["refresh_token"])
    assert refresh(http, project, tokens["refresh_token"]).status_code == 200


def test_deleting_the_current_session_is_refused(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    current = jwt_parts(tokens["access_token"])[1]["refresh_token_id"]
    r = http.delete(
        f"{SESSIONS}/{current}?user_id=me", headers=as_user(project, tokens["access_token"])
    )
    assert_known_error(r, "CANNOT_DELETE_CURRENT_SESSION", 400)
    assert refresh(http, project, tokens["refresh_token"]).status_code == 200


def test_client_cannot_delete_another_users_session(http: httpx.Client, project: Project) -> None:
    me, victim = sign_up(http, project), sign_up(http, project)
    victim_session = jwt_parts(victim["access_token"])[1]["refresh_token_id"]
    r = http.delete(
        f"{SESSIONS}/{victim_session}?user_id=me", headers=as_user(project, me["access_token"])
    )
    assert 400 <= r.status_code < 500
    assert refresh(http, project, victim["refresh_token"]).status_code == 200


def test_server_deletes_any_session_of_its_project(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    session_id = jwt_parts(tokens["access_token"])[1]["refresh_token_id"]
    r = http.delete(
        f"{SESSIONS}/{session_id}?user_id={tokens['user_id']}", headers=project.headers("server")
    )
    assert r.status_code == 200, r.text
    _assert_refresh_fails(http, project, tokens["refresh_token"])


def test_server_cannot_delete_a_session_of_another_project(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    a, b = make_project(), make_project()
    tokens = sign_up(http, b)
    session_id = jwt_parts(tokens["access_token"])[1]["refresh_token_id"]
    r = http.delete(
        f"{SESSIONS}/{session_id}?user_id={tokens['user_id']}", headers=a.headers("server")
    )
    assert r.status_code == 404
    assert refresh(http, b, tokens["refresh_token"]).status_code == 200


def test_refresh_token_of_deleted_user_is_rejected(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    r = http.delete(f"/api/v1/users/{tokens['user_id']}", headers=project.headers("server"))
    assert r.status_code == 200, r.text
    _assert_refresh_fails(http, project, tokens["refresh_token"])
    by_header = http.post(
        f"{SESSIONS}/current/refresh",
        headers=project.headers(**{"x-stack-refresh-token": tokens["refresh_token"]}),
    )
    assert_known_error(by_header, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED", 401)


def test_access_token_of_deleted_user_acts_as_signed_out(
    http: httpx.Client, project: Project
) -> None:
    tokens = sign_up(http, project)
    http.delete(f"/api/v1/users/{tokens['user_id']}", headers=project.headers("server"))
    r = http.get("/api/v1/users/me", headers=as_user(project, tokens["access_token"]))
    assert_known_error(r, "CANNOT_GET_OWN_USER_WITHOUT_USER", 400)


@pytest.mark.parametrize(
    "change",
    [
        {"password": "a-brand-new-password-2"},
        {"password": None},
        {"password_hash": "$2b$10$" + "a" * 53},
    ],
)
def test_setting_password_revokes_all_refresh_tokens(
    http: httpx.Client, project: Project, change: dict[str, Any]
) -> None:
    email = unique_email()
    first = sign_up(http, project, email)
    second = sign_in_with_password(http, project, email, PASSWORD).json()
    r = http.patch(
        f"/api/v1/users/{first['user_id']}", headers=project.headers("server"), json=change
    )
    assert r.status_code == 200, r.text
    _assert_refresh_fails(http, project, first["refresh_token"])
    _assert_refresh_fails(http, project, second["refresh_token"])


def test_profile_patch_without_password_keeps_sessions(
    http: httpx.Client, project: Project
) -> None:
    tokens = sign_up(http, project)
    http.patch(
        f"/api/v1/users/{tokens['user_id']}",
        headers=project.headers("server"),
        json={"display_name": "Still signed in"},
    )
    assert refresh(http, project, tokens["refresh_token"]).status_code == 200


def test_impersonation_sessions_are_listed_only_for_admins(
    http: httpx.Client, project: Project
) -> None:
    user = create_user(http, project)
    create_session(http, project, user["id"], is_impersonation=True)
    as_server = http.get(f"{SESSIONS}?user_id={user['id']}", headers=project.headers("server"))
    assert as_server.json()["items"] == []
    as_admin = http.get(f"{SESSIONS}?user_id={user['id']}", headers=project.headers("admin"))
    assert [s["is_impersonation"] for s in as_admin.json()["items"]] == [True]
