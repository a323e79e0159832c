"""Changing a password (old one required, other sessions end) and setting a first one."""

from __future__ import annotations

import httpx

from tests.api.helpers import (
    PASSWORD,
    as_user,
    assert_known_error,
    create_session,
    refresh,
    sign_up,
    unique_email,
)
from tests.conftest import Project

NEW = "the-changed-password-5"


def sign_in(http: httpx.Client, project: Project, email: str, password: str) -> httpx.Response:
    return http.post(
        "/api/v1/auth/password/sign-in",
        headers=project.headers(),
        json={"email": email, "password": password},
    )


def refresh_works(http: httpx.Client, project: Project, refresh_token: str) -> bool:
    r = http.post(
        "/api/v1/auth/sessions/current/refresh",
        headers=project.headers(**{"x-stack-refresh-token": refresh_token}),
    )
    return r.status_code == 200


def test_update_revokes_every_other_session_and_keeps_the_callers(
    http: httpx.Client, project: Project
) -> None:
    email = unique_email("change")
    first = sign_up(http, project, email)
    second = sign_in(http, project, email, PASSWORD).json()
    headers = as_user(project, first["access_token"])
    headers["x-stack-refresh-token"] = first["refresh_token"]

    wrong = http.post(
        "/api/v1/auth/password/update",
        headers=headers,
        json={"old_password": "not-the-password", "new_password": NEW},
    )
    assert_known_error(wrong, "PASSWORD_CONFIRMATION_MISMATCH", 400)
    short = http.post(
        "/api/v1/auth/password/update",
        headers=headers,
        json={"old_password": PASSWORD, "new_password": "short"},
    )
    assert_known_error(short, "PASSWORD_TOO_SHORT", 400, {"min_length": 8})

    r = http.post(
        "/api/v1/auth/password/update",
        headers=headers,
        json={"old_password": PASSWORD, "new_password": NEW},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True}
    assert refresh_works(http, project, first["refresh_token"])
    assert not refresh_works(http, project, second["refresh_token"])
    assert sign_in(http, project, email, NEW).status_code == 200
    assert_known_error(sign_in(http, project, email, PASSWORD), "EMAIL_PASSWORD_MISMATCH", 400)


def test_update_and_set_need_a_user(http: httpx.Client, project: Project) -> None:
    for path, body in (
        ("/api/v1/auth/password/update", {"old_password": PASSWORD, "new_password": NEW}),
        ("/api/v1/auth/password/set", {"password": NEW}),
    ):
        r = http.post(path, headers=project.headers(), json=body)
        assert_known_error(r, "SCHEMA_ERROR", 400)  # upstream's schema requires the user


def test_set_gives_a_passwordless_user_a_password_once(
    http: httpx.Client, project: Project
) -> None:
    email = unique_email("nopass")
    created = http.post(
        "/api/v1/users",
        headers=project.headers("server"),
        json={"primary_email": email, "primary_email_auth_enabled": True},
    ).json()
    session = create_session(http, project, created["id"])
    user = as_user(project, session["access_token"])

    update = http.post(
        "/api/v1/auth/password/update",
        headers=user,
        json={"old_password": PASSWORD, "new_password": NEW},
    )
    assert_known_error(update, "USER_DOES_NOT_HAVE_PASSWORD", 400)

    r = http.post("/api/v1/auth/password/set", headers=user, json={"password": NEW})
    assert r.status_code == 200, r.text
    assert sign_in(http, project, email, NEW).status_code == 200

    twice = http.post("/api/v1/auth/password/set", headers=user, json={"password": NEW})
    assert twice.status_code == 400


def test_set_revokes_every_other_session_and_keeps_the_callers(
    http: httpx.Client, project: Project
) -> None:
    created = http.post(
        "/api/v1/users",
        headers=project.headers("server"),
        json={"primary_email": unique_email("setpw"), "primary_email_auth_enabled": True},
    ).json()

    mine, other = (create_session(http, project, created["id"]) for _ in range(2))
    headers = as_user(project, mine["access_token"])
    headers["x-stack-refresh-token"] = mine["refresh_token"]
    r = http.post("/api/v1/auth/password/set", headers=headers, json={"password": NEW})
    assert r.status_code == 200, r.text

    assert refresh_works(http, project, mine["refresh_token"])
    gone = refresh(http, project, other["refresh_token"])
    assert_known_error(gone, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED", 401)


def test_set_without_a_refresh_token_revokes_every_session(
    http: httpx.Client, project: Project
) -> None:
    created = http.post(
        "/api/v1/users",
        headers=project.headers("server"),
        json={"primary_email": unique_email("setpw-all"), "primary_email_auth_enabled": True},
    ).json()
    session = create_session(http, project, created["id"])
    r = http.post(
        "/api/v1/auth/password/set",
        headers=as_user(project, session["access_token"]),
        json={"password": NEW},
    )
    assert r.status_code == 200, r.text
    assert not refresh_works(http, project, session["refresh_token"])
