"""Changing a password (old one required, other sessions end) and setting a first one."""

from __future__ import annotations

import httpx

from tests.api.helpers import (
    PASSWORD,
    as_user,
    assert_known_error,
    assert_sign_in_refused,
    create_session,
    refresh,
    set_password,
    sign_in_with_password,
    sign_up,
    unique_email,
    update_password,
)
from tests.api.team_helpers import new_user
from tests.conftest import Project

NEW = "the-changed-password-5"


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
    second = sign_in_with_password(http, project, email, PASSWORD).json()
    headers = as_user(project, first["access_token"])
    headers["x-stack-refresh-token"] = first["refresh_token"]

    wrong = update_password(http, headers, "not-the-password", NEW)
    assert_known_error(wrong, "PASSWORD_CONFIRMATION_MISMATCH", 400)
    short = update_password(http, headers, PASSWORD, "short")
    assert_known_error(short, "PASSWORD_TOO_SHORT", 400, {"min_length": 8})

    r = update_password(http, headers, PASSWORD, NEW)
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True}
    assert refresh_works(http, project, first["refresh_token"])
    assert not refresh_works(http, project, second["refresh_token"])
    assert sign_in_with_password(http, project, email, NEW).status_code == 200
    assert_sign_in_refused(http, project, email, PASSWORD)


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
    user = new_user(http, project, verified=False, primary_email=email).client(project)

    update = update_password(http, user, PASSWORD, NEW)
    assert_known_error(update, "USER_DOES_NOT_HAVE_PASSWORD", 400)

    r = set_password(http, user, NEW)
    assert r.status_code == 200, r.text
    assert sign_in_with_password(http, project, email, NEW).status_code == 200

    twice = set_password(http, user, NEW)
    assert twice.status_code == 400


def test_set_revokes_every_other_session_and_keeps_the_callers(
    http: httpx.Client, project: Project
) -> None:
    user = new_user(http, project, verified=False, primary_email=unique_email("setpw"))
    other = create_session(http, project, user.id)
    headers = user.client(project, **{"x-stack-refresh-token": user.refresh_token})
    r = set_password(http, headers, NEW)
    assert r.status_code == 200, r.text

    assert refresh_works(http, project, user.refresh_token)
    gone = refresh(http, project, other["refresh_token"])
    assert_known_error(gone, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED", 401)


def test_set_without_a_refresh_token_revokes_every_session(
    http: httpx.Client, project: Project
) -> None:
    user = new_user(http, project, verified=False, primary_email=unique_email("setpw-all"))
    r = set_password(http, user.client(project), NEW)
    assert r.status_code == 200, r.text
    assert not refresh_works(http, project, user.refresh_token)
