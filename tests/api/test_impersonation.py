"""Impersonation sessions (``POST /auth/sessions`` with ``is_impersonation``): marked tokens, a
short default lifetime, hidden from the user, and every start written to the audit log."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from authstack_core.crypto.tokens import TokenService
from tests.api.helpers import (
    admin_headers,
    as_user,
    assert_known_error,
    create_session,
    create_user,
    jwt_parts,
    refresh,
    rendered_config,
    sign_up,
)
from tests.conftest import SERVER_SECRET, Project, running_api
from tests.factories import ADMIN_USER_ID, query_value

SESSIONS = "/api/v1/auth/sessions"
AUDIT = "/api/v1/internal/audit-log"
HOUR_MS = 3_600_000


def _impersonate(
    http: httpx.Client, headers: dict[str, str], user_id: str, **body: Any
) -> dict[str, Any]:
    r = http.post(
        SESSIONS, headers=headers, json={"user_id": user_id, "is_impersonation": True, **body}
    )
    assert r.status_code == 200, r.text
    tokens: dict[str, Any] = r.json()
    return tokens


def _expires_in_ms(database_url: str, project: Project, refresh_token_id: str) -> float:
    value = query_value(
        database_url,
        "SELECT extract(epoch FROM expires_at - now()) * 1000 FROM refresh_tokens "
        "WHERE tenancy_id = %s AND id = %s",
        (project.tenancy_id, refresh_token_id),
    )
    return float(value)


def _entries(http: httpx.Client, project: Project, **params: str) -> list[dict[str, Any]]:
    r = http.get(AUDIT, headers=project.headers("admin"), params=params)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def test_impersonation_tokens_carry_the_claim_on_issue_and_on_every_refresh(
    http: httpx.Client, project: Project
) -> None:
    user = create_user(http, project)
    tokens = create_session(http, project, user["id"], is_impersonation=True)
    assert jwt_parts(tokens["access_token"])[1]["is_impersonation"] is True
    # Both refresh doors: the SDK's token endpoint and the header-based refresh.
    refreshed = refresh(http, project, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert jwt_parts(refreshed.json()["access_token"])[1]["is_impersonation"] is True
    again = http.post(
        f"{SESSIONS}/current/refresh",
        headers={**project.headers(), "x-stack-refresh-token": tokens["refresh_token"]},
    )
    assert again.status_code == 200, again.text
    access = again.json()["access_token"]
    assert jwt_parts(access)[1]["is_impersonation"] is True
    # Our verifier exposes it to the API's own code.
    verified = TokenService(SERVER_SECRET, "http://localhost:8102", 600).verify_access_token(access)
    assert verified.is_impersonation is True
    # The marked token works as the user's.
    me = http.get("/api/v1/users/me", headers=as_user(project, access))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user["id"]


def test_ordinary_tokens_have_no_impersonation_claim(http: httpx.Client, project: Project) -> None:
    user = create_user(http, project)
    tokens = create_session(http, project, user["id"])
    assert "is_impersonation" not in jwt_parts(tokens["access_token"])[1]
    refreshed = refresh(http, project, tokens["refresh_token"]).json()["access_token"]
    assert "is_impersonation" not in jwt_parts(refreshed)[1]
    signed_up = sign_up(http, project)
    assert "is_impersonation" not in jwt_parts(signed_up["access_token"])[1]
    verified = TokenService(SERVER_SECRET, "http://localhost:8102", 600).verify_access_token(
        signed_up["access_token"]
    )
    assert verified.is_impersonation is False


def test_an_impersonation_session_lasts_one_hour_by_default(
    http: httpx.Client, project: Project, migrated_database: str
) -> None:
    user = create_user(http, project)
    tokens = create_session(http, project, user["id"], is_impersonation=True)
    session_id = jwt_parts(tokens["access_token"])[1]["refresh_token_id"]
    assert abs(_expires_in_ms(migrated_database, project, session_id) - HOUR_MS) < 60_000
    # Asked for, another lifetime is kept; an ordinary session keeps its 365 days.
    longer = create_session(
        http, project, user["id"], is_impersonation=True, expires_in_millis=3 * HOUR_MS
    )
    longer_id = jwt_parts(longer["access_token"])[1]["refresh_token_id"]
    assert abs(_expires_in_ms(migrated_database, project, longer_id) - 3 * HOUR_MS) < 60_000
    ordinary = create_session(http, project, user["id"])
    ordinary_id = jwt_parts(ordinary["access_token"])[1]["refresh_token_id"]
    days = _expires_in_ms(migrated_database, project, ordinary_id) / 86_400_000
    assert 364.9 < days < 365.1


def test_the_user_does_not_see_an_impersonation_session_but_an_admin_does(
    http: httpx.Client, project: Project
) -> None:
    own = sign_up(http, project)
    impersonation = create_session(http, project, own["user_id"], is_impersonation=True)
    mine = http.get(
        SESSIONS, headers=as_user(project, own["access_token"]), params={"user_id": "me"}
    )
    assert mine.status_code == 200, mine.text
    assert [s["is_impersonation"] for s in mine.json()["items"]] == [False]
    # Not even from inside the impersonation session itself.
    inside = http.get(
        SESSIONS,
        headers=as_user(project, impersonation["access_token"]),
        params={"user_id": "me"},
    )
    assert [s["is_impersonation"] for s in inside.json()["items"]] == [False]
    listed = http.get(
        SESSIONS, headers=project.headers("admin"), params={"user_id": own["user_id"]}
    ).json()["items"]
    assert sorted(s["is_impersonation"] for s in listed) == [False, True]


def test_a_client_cannot_start_an_impersonation_session(
    http: httpx.Client, project: Project
) -> None:
    own = sign_up(http, project)
    r = http.post(
        SESSIONS,
        headers=as_user(project, own["access_token"]),
        json={"user_id": own["user_id"], "is_impersonation": True},
    )
    assert_known_error(r, "INSUFFICIENT_ACCESS_TYPE", 401)
    assert _entries(http, project) == []


def test_an_impersonation_start_is_audited_with_the_dashboard_user_and_where_from(
    http: httpx.Client, project: Project, admin_access_token: str
) -> None:
    user = create_user(http, project)
    agent = "Mozilla/5.0 (dashboard) " + "x" * 600
    before = int(time.time() * 1000)
    headers = {**admin_headers(project.id, admin_access_token), "user-agent": agent}
    tokens = _impersonate(http, headers, user["id"])
    [entry] = _entries(http, project)
    session_id = jwt_parts(tokens["access_token"])[1]["refresh_token_id"]
    assert entry["action"] == "session.impersonation_started"
    assert entry["actor"] == {
        "type": "admin_user",
        "user_id": ADMIN_USER_ID,
        "ip": "127.0.0.1",
        "user_agent": agent[:512],
    }
    assert entry["target"] == {"type": "user", "id": user["id"]}
    assert entry["details"]["session_id"] == session_id
    expires = entry["details"]["expires_at_millis"]
    assert before + HOUR_MS - 5000 <= expires <= int(time.time() * 1000) + HOUR_MS + 5000
    assert before - 5000 <= entry["created_at_millis"] <= int(time.time() * 1000) + 5000
    # With the server key, the key is the actor.
    _impersonate(http, project.headers("server", **{"user-agent": "backend/1"}), user["id"])
    newest = _entries(http, project)[0]
    assert newest["actor"] == {
        "type": "server_key",
        "user_id": None,
        "ip": "127.0.0.1",
        "user_agent": "backend/1",
    }


def test_an_ordinary_session_is_not_audited(http: httpx.Client, project: Project) -> None:
    user = create_user(http, project)
    create_session(http, project, user["id"])
    assert _entries(http, project) == []


def test_the_audited_address_is_the_one_a_trusted_proxy_reports(
    http: httpx.Client, migrated_database: str, project: Project
) -> None:
    """Behind a trusted proxy, the forwarded client address; otherwise the peer, whatever the
    request claims."""
    forwarded = project.headers("server", **{"x-forwarded-for": "203.0.113.9"})
    user = create_user(http, project)
    _impersonate(http, forwarded, user["id"])  # the session's API trusts no proxy
    assert _entries(http, project)[0]["actor"]["ip"] == "127.0.0.1"
    with (
        running_api(migrated_database, STACK_TRUSTED_PROXY_NETWORKS="127.0.0.0/8") as proxied,
        proxied.client() as behind_proxy,
    ):
        _impersonate(behind_proxy, forwarded, user["id"])
        assert _entries(behind_proxy, project)[0]["actor"]["ip"] == "203.0.113.9"


# --- the project's impersonation handler (impersonation.handlerUrl) ---------------------------

PROJECT_OVERRIDE = "/api/v1/internal/config/override/project"


def _set_project_level(http: httpx.Client, headers: dict[str, str], value: Any) -> httpx.Response:
    text = json.dumps({"impersonation.handlerUrl": value})
    return http.patch(PROJECT_OVERRIDE, headers=headers, json={"config_override_string": text})


def test_the_handler_url_is_null_until_an_admin_sets_it_on_the_project_level(
    http: httpx.Client, project: Project, admin_access_token: str
) -> None:
    admin = admin_headers(project.id, admin_access_token)
    assert rendered_config(http, admin)["impersonation"] == {"handlerUrl": None}
    url = "https://app.example.com/handler/impersonate"
    r = _set_project_level(http, admin, url)
    assert r.status_code == 200, r.text
    assert rendered_config(http, admin)["impersonation"] == {"handlerUrl": url}
    assert _set_project_level(http, admin, None).status_code == 200
    assert rendered_config(http, admin)["impersonation"] == {"handlerUrl": None}


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "/handler/impersonate",
        "ftp://app.example.com/x",
        "https://user:pw@app.example.com/x",
        "not a url",
        42,
        True,
    ],
)
def test_the_handler_url_must_be_an_absolute_http_url(
    http: httpx.Client, project: Project, value: Any
) -> None:
    r = _set_project_level(http, project.headers("admin"), value)
    assert_known_error(r, "SCHEMA_ERROR", 400)
    assert "impersonation.handlerUrl" in r.json()["error"]


def test_the_handler_url_belongs_to_the_project_level(http: httpx.Client, project: Project) -> None:
    text = json.dumps({"impersonation.handlerUrl": "https://app.example.com/h"})
    for level in ("branch", "environment"):
        r = http.patch(
            f"/api/v1/internal/config/override/{level}",
            headers=project.headers("admin"),
            json={"config_override_string": text},
        )
        assert_known_error(r, "SCHEMA_ERROR", 400)
