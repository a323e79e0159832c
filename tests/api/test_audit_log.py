"""The audit log (``GET /internal/audit-log``): paging, filters, access, and config changes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.api.helpers import admin_headers, assert_known_error, create_session, create_user
from tests.conftest import Project
from tests.factories import ADMIN_USER_ID

AUDIT = "/api/v1/internal/audit-log"
ENVIRONMENT = "/api/v1/internal/config/override/environment"


def entries(http: httpx.Client, project: Project, **params: str) -> list[dict[str, Any]]:
    r = http.get(AUDIT, headers=project.headers("admin"), params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _patch_config(http: httpx.Client, headers: dict[str, str], override: dict[str, Any]) -> None:
    r = http.patch(
        ENVIRONMENT, headers=headers, json={"config_override_string": json.dumps(override)}
    )
    assert r.status_code == 200, r.text


def _impersonations(http: httpx.Client, project: Project, count: int) -> list[str]:
    """``count`` impersonation starts, of a new user each; their users' ids, oldest first."""
    users = []
    for _ in range(count):
        user = create_user(http, project)
        create_session(http, project, user["id"], is_impersonation=True)
        users.append(user["id"])
    return users


def test_pages_go_newest_first_and_end_with_a_null_cursor(
    http: httpx.Client, project: Project
) -> None:
    users = _impersonations(http, project, 5)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        r = http.get(AUDIT, headers=project.headers("admin"), params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["is_paginated"] is True
        assert len(body["items"]) <= 2
        seen += [item["target"]["id"] for item in body["items"]]
        cursor = body["pagination"]["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert pages == 3
    assert seen == users[::-1]
    # The default page holds them all, newest first; each item has exactly the documented shape.
    items = entries(http, project)
    assert [i["target"]["id"] for i in items] == users[::-1]
    assert set(items[0]) == {"id", "created_at_millis", "action", "actor", "target", "details"}
    assert set(items[0]["actor"]) == {"type", "user_id", "ip", "user_agent"}
    created = [i["created_at_millis"] for i in items]
    assert created == sorted(created, reverse=True)


def test_filters_by_action_target_user_and_acting_user(
    http: httpx.Client, project: Project, admin_access_token: str
) -> None:
    first, second = _impersonations(http, project, 2)
    admin = admin_headers(project.id, admin_access_token)
    _patch_config(http, admin, {"teams.allowClientTeamCreation": True})
    by_target = entries(http, project, target_user_id=first)
    assert [(i["action"], i["target"]["id"]) for i in by_target] == [
        ("session.impersonation_started", first)
    ]
    assert [i["target"]["id"] for i in entries(http, project, target_user_id=second)] == [second]
    config = entries(http, project, action="project.config_updated")
    assert [i["actor"]["type"] for i in config] == ["admin_user"]
    starts = entries(http, project, action="session.impersonation_started")
    assert [i["target"]["id"] for i in starts] == [second, first]
    mine = entries(http, project, actor_user_id=ADMIN_USER_ID)
    assert [i["action"] for i in mine] == ["project.config_updated"]
    # Filters combine, and the same filter keeps its paging.
    assert entries(http, project, action="user.deleted", target_user_id=first) == []
    page = http.get(
        AUDIT,
        headers=project.headers("admin"),
        params={"action": "session.impersonation_started", "limit": "1"},
    ).json()
    rest = entries(
        http,
        project,
        action="session.impersonation_started",
        cursor=page["pagination"]["next_cursor"],
    )
    assert [i["target"]["id"] for i in page["items"] + rest] == [second, first]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "201"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"limit": "1e2"},
        {"cursor": "not-a-cursor"},
        {"cursor": ""},
        {"cursor": "x" * 500},
        {"cursor": "OTk5OTk5OTk5OTk5OTk5OTk5OTkuMDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw"},
        {"cursor": "MTIzLm5vdC1hLXV1aWQ"},
        {"action": "user.exploded"},
        {"action": ""},
        {"target_user_id": "x' OR '1'='1"},
        {"target_user_id": ""},
        {"actor_user_id": "not-a-uuid"},
        {"unknown": "1"},
    ],
)
def test_bad_query_values_are_schema_errors(
    http: httpx.Client, project: Project, params: dict[str, str]
) -> None:
    r = http.get(AUDIT, headers=project.headers("admin"), params=params)
    assert_known_error(r, "SCHEMA_ERROR", 400)


def test_the_largest_page_is_accepted(http: httpx.Client, project: Project) -> None:
    r = http.get(AUDIT, headers=project.headers("admin"), params={"limit": "200"})
    assert r.status_code == 200, r.text
    assert r.json() == {"items": [], "is_paginated": True, "pagination": {"next_cursor": None}}


@pytest.mark.parametrize("access", ["server", "client"])
def test_only_admins_read_the_audit_log(http: httpx.Client, project: Project, access: str) -> None:
    r = http.get(AUDIT, headers=project.headers(access))
    assert_known_error(r, "INSUFFICIENT_ACCESS_TYPE", 401)


def test_a_config_change_lists_the_changed_keys_and_never_their_values(
    http: httpx.Client, project: Project
) -> None:
    password = "smtp-password-never-logged"
    client_secret = "oauth-client-secret-never-logged"
    connection = "postgresql://reader:db-password-never-logged@db.example.com/app"
    _patch_config(
        http,
        project.headers("admin", **{"user-agent": "admin-script/2"}),
        {
            "emails.server": {
                "isShared": False,
                "host": "smtp.example.com",
                "port": 587,
                "username": "mailer",
                "password": password,
                "senderName": "App",
                "senderEmail": "noreply@example.com",
            },
            "auth.oauth.providers.github": {
                "type": "github",
                "isShared": False,
                "clientId": "id",
                "clientSecret": client_secret,
                "allowSignIn": True,
            },
            "dbSync.externalDatabases.warehouse": {
                "type": "postgres",
                "connectionString": connection,
            },
        },
    )
    [entry] = entries(http, project)
    assert entry["action"] == "project.config_updated"
    assert entry["actor"]["type"] == "admin_key"
    assert entry["actor"]["user_id"] is None
    assert entry["actor"]["user_agent"] == "admin-script/2"
    assert entry["target"] == {"type": "project", "id": project.id}
    assert entry["details"]["level"] == "environment"
    assert entry["details"]["operation"] == "merge"
    changed = entry["details"]["changed_keys"]
    assert "emails.server.password" in changed
    assert "emails.server.host" in changed
    # A record entry added (or removed) is named as a whole.
    assert "auth.oauth.providers.github" in changed
    assert "dbSync.externalDatabases.warehouse" in changed
    text = json.dumps(entry)
    for secret in (password, client_secret, "db-password-never-logged", "smtp.example.com"):
        assert secret not in text
    # A field changed inside an entry is named down to the field.
    _patch_config(
        http,
        project.headers("admin"),
        {"auth.oauth.providers.github.clientSecret": "another-secret-never-logged"},
    )
    rotated = entries(http, project)[0]
    assert rotated["details"]["changed_keys"] == ["auth.oauth.providers.github.clientSecret"]
    assert "another-secret-never-logged" not in json.dumps(rotated)
    # Resetting a key and replacing a level are audited too, as what they are.
    r = http.post(
        ENVIRONMENT + "/reset-keys",
        headers=project.headers("admin"),
        json={"keys": ["auth.oauth.providers.github"]},
    )
    assert r.status_code == 200, r.text
    reset = entries(http, project)[0]
    assert reset["details"]["operation"] == "reset_keys"
    assert reset["details"]["changed_keys"] == ["auth.oauth.providers.github"]
    r = http.put(
        "/api/v1/internal/config/override/branch",
        headers=project.headers("server"),
        json={
            "config_string": json.dumps({"auth.allowSignUp": False}),
            "source": {"type": "unlinked"},
        },
    )
    assert r.status_code == 200, r.text
    replaced = entries(http, project)[0]
    assert (replaced["actor"]["type"], replaced["details"]["level"]) == ("server_key", "branch")
    assert replaced["details"]["operation"] == "replace"
    assert replaced["details"]["changed_keys"] == ["auth.allowSignUp"]


def test_a_refused_config_change_leaves_no_entry(http: httpx.Client, project: Project) -> None:
    r = http.patch(
        ENVIRONMENT,
        headers=project.headers("admin"),
        json={"config_override_string": json.dumps({"no.such.key": True})},
    )
    assert_known_error(r, "SCHEMA_ERROR", 400)
    assert entries(http, project) == []
