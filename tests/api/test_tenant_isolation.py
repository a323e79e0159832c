"""Keys and tokens of one project never reach another project's users."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.api.helpers import as_user, assert_known_error, refresh, sign_up, unique_email
from tests.conftest import Project

USERS = "/api/v1/users"


@pytest.fixture
def a_and_b(
    http: httpx.Client, make_project: Callable[..., Project]
) -> tuple[Project, Project, dict[str, str], dict[str, str]]:
    a, b = make_project(), make_project()
    return a, b, sign_up(http, a, unique_email("a")), sign_up(http, b, unique_email("b"))


def test_server_key_of_a_cannot_read_update_or_delete_bs_user(
    http: httpx.Client, a_and_b: tuple[Project, Project, dict[str, str], dict[str, str]]
) -> None:
    a, b, _, user_b = a_and_b
    path = f"{USERS}/{user_b['user_id']}"
    assert_known_error(http.get(path, headers=a.headers("server")), "USER_NOT_FOUND", 404)
    patch = http.patch(path, headers=a.headers("server"), json={"display_name": "pwned"})
    assert_known_error(patch, "USER_NOT_FOUND", 404)
    assert_known_error(http.delete(path, headers=a.headers("server")), "USER_NOT_FOUND", 404)
    still = http.get(path, headers=b.headers("server")).json()
    assert still["display_name"] is None
    assert still["id"] == user_b["user_id"]


def test_list_shows_only_the_projects_own_users(
    http: httpx.Client, a_and_b: tuple[Project, Project, dict[str, str], dict[str, str]]
) -> None:
    a, b, user_a, user_b = a_and_b
    listed_a = http.get(USERS, headers=a.headers("server")).json()["items"]
    listed_b = http.get(USERS, headers=b.headers("server")).json()["items"]
    assert [u["id"] for u in listed_a] == [user_a["user_id"]]
    assert [u["id"] for u in listed_b] == [user_b["user_id"]]
    searched = http.get(USERS, headers=a.headers("server"), params={"query": user_b["user_id"]})
    assert searched.json()["items"] == []


def test_user_token_of_a_is_refused_on_b(
    http: httpx.Client, a_and_b: tuple[Project, Project, dict[str, str], dict[str, str]]
) -> None:
    a, b, user_a, _ = a_and_b
    r = http.get(f"{USERS}/me", headers=as_user(b, user_a["access_token"]))
    assert_known_error(
        r,
        "INVALID_PROJECT_FOR_ACCESS_TOKEN",
        401,
        details={"expected_project_id": b.id, "actual_project_id": a.id},
    )


def test_refresh_token_of_b_does_not_work_on_a(
    http: httpx.Client, a_and_b: tuple[Project, Project, dict[str, str], dict[str, str]]
) -> None:
    a, b, _, user_b = a_and_b
    r = refresh(http, a, user_b["refresh_token"])
    assert_known_error(r, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED", 401)
    by_header = http.post(
        "/api/v1/auth/sessions/current/refresh",
        headers=a.headers(**{"x-stack-refresh-token": user_b["refresh_token"]}),
    )
    assert_known_error(by_header, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED", 401)
    # B's client id with A's key does not unlock B either.
    form = {
        "grant_type": "refresh_token",
        "refresh_token": user_b["refresh_token"],
        "client_id": b.id,
        "client_secret": a.publishable_client_key,
    }
    assert_known_error(
        http.post("/api/v1/auth/oauth/token", data=form), "INVALID_OAUTH_CLIENT_ID_OR_SECRET", 400
    )
    assert refresh(http, b, user_b["refresh_token"]).status_code == 200


def test_sessions_of_b_are_invisible_to_a(
    http: httpx.Client, a_and_b: tuple[Project, Project, dict[str, str], dict[str, str]]
) -> None:
    a, _, _, user_b = a_and_b
    r = http.get(
        "/api/v1/auth/sessions",
        headers=a.headers("server"),
        params={"user_id": user_b["user_id"]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["items"] == []


def test_server_cannot_create_a_session_for_bs_user(
    http: httpx.Client, a_and_b: tuple[Project, Project, dict[str, str], dict[str, str]]
) -> None:
    a, _, _, user_b = a_and_b
    r = http.post(
        "/api/v1/auth/sessions", headers=a.headers("server"), json={"user_id": user_b["user_id"]}
    )
    assert_known_error(r, "USER_ID_DOES_NOT_EXIST", 400, details={"user_id": user_b["user_id"]})
