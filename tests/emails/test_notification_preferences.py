"""Notification preferences: the categories, a user's choices, who may read and change them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.api.helpers import as_user, assert_known_error, create_user, sign_up
from tests.conftest import Project

TRANSACTIONAL = "7bb82d33-2f54-4a3d-9d23-82739e0d66ef"
MARKETING = "4f6f8873-3d04-46bd-8bef-18338b1a1b4c"
PREFS = "/api/v1/emails/notification-preference"


def preferences(http: httpx.Client, headers: dict[str, str], user: str) -> httpx.Response:
    return http.get(f"{PREFS}/{user}", headers=headers)


def choose(
    http: httpx.Client, headers: dict[str, str], user: str, category: str, enabled: Any
) -> httpx.Response:
    return http.patch(f"{PREFS}/{user}/{category}", headers=headers, json={"enabled": enabled})


def enabled_of(r: httpx.Response) -> dict[str, bool]:
    assert r.status_code == 200, r.text
    return {item["notification_category_name"]: item["enabled"] for item in r.json()["items"]}


def test_every_category_is_listed_with_upstreams_ids_and_its_default(
    http: httpx.Client, project: Project
) -> None:
    user = create_user(http, project)["id"]
    r = preferences(http, project.headers("server"), user)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "items": [
            {
                "notification_category_id": TRANSACTIONAL,
                "notification_category_name": "Transactional",
                "enabled": True,
                "can_disable": False,
            },
            {
                "notification_category_id": MARKETING,
                "notification_category_name": "Marketing",
                "enabled": True,
                "can_disable": True,
            },
        ],
        "is_paginated": False,
    }


def test_a_choice_is_stored_and_listed_and_can_be_undone(
    http: httpx.Client, project: Project
) -> None:
    server = project.headers("server")
    user = create_user(http, project)["id"]
    r = choose(http, server, user, MARKETING, False)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "notification_category_id": MARKETING,
        "notification_category_name": "Marketing",
        "enabled": False,
        "can_disable": True,
    }
    assert enabled_of(preferences(http, server, user)) == {
        "Transactional": True,
        "Marketing": False,
    }
    assert choose(http, server, user, MARKETING, True).json()["enabled"] is True
    assert enabled_of(preferences(http, server, user))["Marketing"] is True
    # Turning Transactional "on" is allowed (it is on anyway); only turning it off is refused.
    assert choose(http, server, user, TRANSACTIONAL, True).status_code == 200


def test_a_client_manages_its_own_user_by_me_or_by_id(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    me = as_user(project, tokens["access_token"])
    assert choose(http, me, "me", MARKETING, False).status_code == 200
    assert enabled_of(preferences(http, me, "me"))["Marketing"] is False
    assert enabled_of(preferences(http, me, tokens["user_id"]))["Marketing"] is False
    assert choose(http, me, tokens["user_id"], MARKETING, True).status_code == 200
    # The server sees what the user chose.
    server_view = preferences(http, project.headers("server"), tokens["user_id"])
    assert enabled_of(server_view)["Marketing"] is True


def test_a_client_cannot_read_or_change_another_users_preferences(
    http: httpx.Client, project: Project
) -> None:
    mine = sign_up(http, project)
    other = sign_up(http, project)["user_id"]
    me = as_user(project, mine["access_token"])
    r = preferences(http, me, other)
    assert r.status_code == 403, r.text
    assert "your own notification preferences" in r.text
    r = choose(http, me, other, MARKETING, False)
    assert r.status_code == 403, r.text
    assert enabled_of(preferences(http, project.headers("server"), other))["Marketing"] is True


def test_a_client_without_a_signed_in_user_is_asked_to_sign_in(
    http: httpx.Client, project: Project
) -> None:
    user = create_user(http, project)["id"]
    for r in (
        preferences(http, project.headers(), "me"),
        preferences(http, project.headers(), user),
        choose(http, project.headers(), user, MARKETING, False),
        # Server access naming "me" without a user token has no user to name either.
        preferences(http, project.headers("server"), "me"),
    ):
        assert_known_error(r, "USER_AUTHENTICATION_REQUIRED", 401)


def test_transactional_mail_cannot_be_turned_off(http: httpx.Client, project: Project) -> None:
    server = project.headers("server")
    user = create_user(http, project)["id"]
    r = choose(http, server, user, TRANSACTIONAL, False)
    assert r.status_code == 400, r.text
    assert r.text == "This notification category cannot be disabled: its emails are always sent."
    assert enabled_of(preferences(http, server, user))["Transactional"] is True


def test_unknown_categories_users_and_malformed_ids_are_client_errors(
    http: httpx.Client, project: Project
) -> None:
    server = project.headers("server")
    user = create_user(http, project)["id"]
    unknown = "00000000-0000-4000-8000-000000000000"
    r = choose(http, server, user, unknown, False)
    assert (r.status_code, r.text) == (404, "Notification category not found.")
    assert_known_error(choose(http, server, "not-a-uuid", MARKETING, False), "SCHEMA_ERROR", 400)
    assert_known_error(choose(http, server, user, "not-a-uuid", False), "SCHEMA_ERROR", 400)
    assert_known_error(choose(http, server, user, MARKETING, "yes"), "SCHEMA_ERROR", 400)
    assert_known_error(choose(http, server, unknown, MARKETING, False), "USER_NOT_FOUND", 404)
    assert_known_error(preferences(http, server, unknown), "USER_NOT_FOUND", 404)


def test_another_projects_user_is_not_found_and_keeps_its_choices(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    a, b = make_project(), make_project()
    b_user = create_user(http, b)["id"]
    assert choose(http, b.headers("server"), b_user, MARKETING, False).status_code == 200
    assert_known_error(preferences(http, a.headers("server"), b_user), "USER_NOT_FOUND", 404)
    r = choose(http, a.headers("server"), b_user, MARKETING, True)
    assert_known_error(r, "USER_NOT_FOUND", 404)
    assert enabled_of(preferences(http, b.headers("server"), b_user))["Marketing"] is False
