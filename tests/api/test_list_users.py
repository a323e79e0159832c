"""GET /users: pagination, ordering, search and the anonymous/restricted filters (contract §5.3)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_known_error, create_user, unique_email
from tests.conftest import Project

USERS = "/api/v1/users"


def _list(http: httpx.Client, project: Project, **params: Any) -> dict[str, Any]:
    r = http.get(USERS, headers=project.headers("server"), params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _ids(body: dict[str, Any]) -> list[str]:
    return [u["id"] for u in body["items"]]


def _walk(http: httpx.Client, project: Project, limit: int, **params: Any) -> list[list[str]]:
    """Every page, following next_cursor, checking it names the next page's first user."""
    pages: list[list[str]] = []
    cursor: str | None = None
    for _ in range(100):
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        body = _list(http, project, **query)
        page = _ids(body)
        assert 1 <= len(page) <= limit or (not pages and not page)
        if pages:
            assert page[0] == cursor  # the cursor row is the first item of the next page
        pages.append(page)
        cursor = body["pagination"]["next_cursor"]
        if cursor is None:
            return pages
        assert len(page) == limit
    raise AssertionError("pagination did not end")


@pytest.fixture
def five_users(http: httpx.Client, project: Project) -> list[str]:
    return [create_user(http, project, display_name=f"User {i}")["id"] for i in range(5)]


def test_list_shape(http: httpx.Client, project: Project, five_users: list[str]) -> None:
    body = _list(http, project)
    assert body["is_paginated"] is True
    assert body["pagination"] == {"next_cursor": None}
    assert _ids(body) == five_users  # sign-up order
    for user in body["items"]:
        assert user["risk_scores"] == {"sign_up": {"bot": 0, "free_trial_abuse": 0}}
        assert "server_metadata" in user


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 5, 6])
def test_pages_neither_overlap_nor_skip(
    http: httpx.Client, project: Project, five_users: list[str], limit: int
) -> None:
    pages = _walk(http, project, limit)
    flat = [uid for page in pages for uid in page]
    assert flat == five_users
    assert len(pages) == -(-len(five_users) // limit)


def test_first_page_next_cursor_is_first_of_next_page(
    http: httpx.Client, project: Project, five_users: list[str]
) -> None:
    body = _list(http, project, limit=2)
    assert _ids(body) == five_users[:2]
    assert body["pagination"]["next_cursor"] == five_users[2]


def test_last_page_has_null_next_cursor(
    http: httpx.Client, project: Project, five_users: list[str]
) -> None:
    body = _list(http, project, limit=2, cursor=five_users[4])
    assert _ids(body) == [five_users[4]]
    assert body["pagination"]["next_cursor"] is None
    exact = _list(http, project, limit=5)
    assert exact["pagination"]["next_cursor"] is None


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_desc_reverses_the_order(
    http: httpx.Client, project: Project, five_users: list[str], limit: int
) -> None:
    assert _ids(_list(http, project, desc="true")) == five_users[::-1]
    assert _ids(_list(http, project, desc="false")) == five_users
    flat = [uid for page in _walk(http, project, limit, desc="true") for uid in page]
    assert flat == five_users[::-1]


def test_order_by_signed_up_at_is_accepted(
    http: httpx.Client, project: Project, five_users: list[str]
) -> None:
    assert _ids(_list(http, project, order_by="signed_up_at")) == five_users


def test_cursor_of_unknown_user_gives_an_empty_page(
    http: httpx.Client, project: Project, five_users: list[str]
) -> None:
    body = _list(http, project, cursor=str(uuid.uuid4()), limit=2)
    assert body["items"] == []
    assert body["pagination"]["next_cursor"] is None


def test_cursor_of_another_projects_user_gives_an_empty_page(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    a, b = make_project(), make_project()
    create_user(http, a)
    foreign = create_user(http, b)
    assert _list(http, a, cursor=foreign["id"])["items"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "abc"},
        {"limit": "1.5"},
        {"cursor": "not-a-uuid"},
        {"desc": "maybe"},
        {"order_by": "email"},
        {"include_anonymous": "yes"},
        {"only_anonymous": "true"},
        {"team_id": "nope"},
    ],
)
def test_invalid_list_parameters_are_schema_errors(
    http: httpx.Client, project: Project, params: dict[str, str]
) -> None:
    r = http.get(USERS, headers=project.headers("server"), params=params)
    assert_known_error(r, "SCHEMA_ERROR", 400)


def test_query_matches_name_email_and_id(http: httpx.Client, project: Project) -> None:
    ada = create_user(http, project, display_name="Ada Lovelace", primary_email=unique_email("x"))
    grace = create_user(
        http, project, display_name="Grace", primary_email=f"hopper-{uuid.uuid4().hex[:6]}@navy.mil"
    )
    other = create_user(http, project, display_name="Someone Else")
    assert _ids(_list(http, project, query="LOVELACE")) == [ada["id"]]
    assert _ids(_list(http, project, query="ada lo")) == [ada["id"]]
    assert _ids(_list(http, project, query="HOPPER")) == [grace["id"]]
    assert _ids(_list(http, project, query="navy.MIL")) == [grace["id"]]
    assert _ids(_list(http, project, query=other["id"])) == [other["id"]]
    assert _ids(_list(http, project, query=other["id"].upper())) == [other["id"]]
    assert _ids(_list(http, project, query="nobody-matches-this")) == []


def test_query_treats_like_wildcards_literally(http: httpx.Client, project: Project) -> None:
    percent = create_user(http, project, display_name="100% real")
    underscore = create_user(http, project, display_name="snake_case")
    create_user(http, project, display_name="snakeXcase")
    create_user(http, project, display_name="plain")
    backslash = create_user(http, project, display_name="back\\slash")
    assert _ids(_list(http, project, query="%")) == [percent["id"]]
    assert _ids(_list(http, project, query="_")) == [underscore["id"]]
    assert _ids(_list(http, project, query="snake_")) == [underscore["id"]]
    assert _ids(_list(http, project, query="\\")) == [backslash["id"]]


def test_query_pages_like_the_full_list(http: httpx.Client, project: Project) -> None:
    matching = [create_user(http, project, display_name=f"Match {i}")["id"] for i in range(4)]
    create_user(http, project, display_name="Other")
    flat = [uid for page in _walk(http, project, 3, query="match") for uid in page]
    assert flat == matching


def test_anonymous_and_restricted_users_are_excluded_by_default(
    http: httpx.Client, project: Project
) -> None:
    normal = create_user(http, project, display_name="normal")
    anon = create_user(http, project, is_anonymous=True)
    restricted = create_user(http, project, display_name="restricted")
    r = http.patch(
        f"{USERS}/{restricted['id']}",
        headers=project.headers("server"),
        json={"restricted_by_admin": True, "restricted_by_admin_reason": "spam"},
    )
    assert r.json()["is_restricted"] is True

    assert _ids(_list(http, project)) == [normal["id"]]
    assert _ids(_list(http, project, include_restricted="true")) == [
        normal["id"],
        restricted["id"],
    ]
    with_anon = _ids(_list(http, project, include_anonymous="true"))
    assert set(with_anon) >= {normal["id"], anon["id"]}
    assert _ids(_list(http, project, include_anonymous="true", include_restricted="true")) == [
        normal["id"],
        anon["id"],
        restricted["id"],
    ]
    only = _list(http, project, include_anonymous="true", only_anonymous="true")
    assert _ids(only) == [anon["id"]]
    # Lifting the restriction brings the user back into the default list.
    http.patch(
        f"{USERS}/{restricted['id']}",
        headers=project.headers("server"),
        json={"restricted_by_admin": False},
    )
    assert _ids(_list(http, project)) == [normal["id"], restricted["id"]]


def test_only_anonymous_requires_include_anonymous(http: httpx.Client, project: Project) -> None:
    r = http.get(USERS, headers=project.headers("server"), params={"only_anonymous": "true"})
    assert_known_error(r, "SCHEMA_ERROR", 400)


def test_unverified_users_count_as_restricted_when_verification_is_required(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"onboarding.requireEmailVerification": True})
    verified = create_user(http, project, primary_email=unique_email(), primary_email_verified=True)
    unverified = create_user(http, project, primary_email=unique_email())
    assert unverified["restricted_reason"] == {"type": "email_not_verified"}
    assert _ids(_list(http, project)) == [verified["id"]]
    assert _ids(_list(http, project, include_restricted="true")) == [
        verified["id"],
        unverified["id"],
    ]


def test_team_id_filters_members(http: httpx.Client, make_project: Callable[..., Project]) -> None:
    project = make_project({"teams.createPersonalTeamOnSignUp": True})
    first = create_user(http, project, display_name="First")
    create_user(http, project, display_name="Second")
    team = http.get(f"{USERS}/{first['id']}", headers=project.headers("server")).json()[
        "selected_team_id"
    ]
    assert _ids(_list(http, project, team_id=team)) == [first["id"]]
    assert _list(http, project, team_id=str(uuid.uuid4()))["items"] == []


def test_admin_key_lists_users_too(http: httpx.Client, project: Project) -> None:
    user = create_user(http, project)
    r = http.get(USERS, headers=project.headers("admin"))
    assert r.status_code == 200, r.text
    assert _ids(r.json()) == [user["id"]]
