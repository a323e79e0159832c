"""Impersonation and the audit log on the dashboard, without a browser: how the handler URL is
checked and the console snippet written, how audit entries read; then the live dashboard's
impersonate form over HTTP (CSRF, no caching, the token in no log line)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from authstack_dashboard.client import token_claims
from authstack_dashboard.routes.audit_log import entry_view
from authstack_dashboard.routes.impersonation import console_snippet, handler_of
from authstack_dashboard.session import Cookies, Session
from tests.api.helpers import create_user
from tests.conftest import ApiServer, Project
from tests.dashboard.conftest import SESSION_SECRET, DashboardServer, start_dashboard
from tests.dashboard.helpers import (
    PASSWORD,
    admin_project,
    internal_sign_up,
    internal_tokens,
    unique,
)
from tests.factories import stop_process

COOKIES = Cookies(SESSION_SECRET, secure=False)
TOKEN = "rt_" + "a1B2" * 12
USER = "0b5e8f0c-3a51-4d6e-9a43-2f1e0c9b7a11"
PROJECT = "5f2d1c7e-8b0a-4c3e-9d61-7a4b2e9f0c13"


def _config(handler: str | None, domains: dict[str, str] | None = None, local: bool = False) -> Any:
    trusted = {str(i): {"baseUrl": url, "handlerPath": "/handler"} for i, url in
               enumerate((domains or {}).values())}  # fmt: skip
    return {
        "impersonation": {"handlerUrl": handler},
        "domains": {"trustedDomains": trusted, "allowLocalhost": local},
    }


@pytest.mark.parametrize(
    ("handler", "domains", "local", "url"),
    [
        (None, {"a": "https://app.example.com"}, False, None),
        ("https://app.example.com/impersonate", {}, False, None),
        ("https://app.example.com/impersonate", {"a": "https://app.example.com"}, False,
         "https://app.example.com/impersonate"),
        # Another host, port or scheme than the trusted domain is not trusted.
        ("https://evil.example.com/x", {"a": "https://app.example.com"}, False, None),
        ("http://app.example.com/x", {"a": "https://app.example.com"}, False, None),
        ("https://app.example.com:8443/x", {"a": "https://app.example.com"}, False, None),
        ("http://localhost:3000/impersonate", {}, False, None),
        ("http://localhost:3000/impersonate", {}, True, "http://localhost:3000/impersonate"),
        # A fragment of its own is dropped: the link's fragment carries the session.
        ("https://app.example.com/i#old", {"a": "https://app.example.com"}, False,
         "https://app.example.com/i"),
        # Only web pages: the SDK's mobile callback scheme is no page to open in a tab.
        ("stack-auth-mobile-oauth-url://x", {}, True, None),
    ],
)  # fmt: skip
def test_the_handler_url_is_used_only_when_it_is_a_trusted_url(
    handler: str | None, domains: dict[str, str], local: bool, url: str | None
) -> None:
    found = handler_of(_config(handler, domains, local))
    assert found.configured == handler
    assert found.url == url
    link = found.link(TOKEN)
    assert link == (None if url is None else f"{url}#stack_impersonation_refresh_token={TOKEN}")


def test_the_link_escapes_the_token_and_the_snippet_quotes_it() -> None:
    handler = handler_of(_config("https://app.example.com/i", {"a": "https://app.example.com"}))
    assert handler.link("a&b=c#d") == (
        "https://app.example.com/i#stack_impersonation_refresh_token=a%26b%3Dc%23d"
    )
    odd = 'x";alert(1);"'
    snippet = console_snippet(PROJECT, odd)
    assert f"const refreshToken = {json.dumps(odd)};" in snippet
    assert f'const projectId = "{PROJECT}";' in snippet


def test_the_snippet_sets_both_refresh_cookies_the_sdk_reads_for_an_hour() -> None:
    snippet = console_snippet(PROJECT, TOKEN)
    # 2.8.108 reads hexclave-refresh-<project>--* first (JSON, __Host- on https); 2.8.102 reads
    # stack-refresh-<project> first.
    assert "hexclave-refresh-${projectId}--default=" in snippet
    assert 'const prefix = secure ? "__Host-" : "";' in snippet
    assert "stack-refresh-${projectId}=" in snippet
    assert "refresh_token: refreshToken, updated_at_millis: Date.now()" in snippet
    assert "max-age=3600;" in snippet
    assert snippet.rstrip().endswith("location.reload();\n})();")


def _item(**fields: Any) -> dict[str, Any]:
    return {
        "id": "e1",
        "created_at_millis": 1_750_000_000_123,
        "action": "session.impersonation_started",
        "actor": {"type": "admin_user", "user_id": "me-id", "ip": "10.0.0.1", "user_agent": "UA"},
        "target": {"type": "user", "id": USER},
        "details": {"session_id": "s1", "expires_at_millis": 1_750_003_600_123},
        **fields,
    }


def test_an_audit_entry_reads_as_who_did_what_to_whom_and_when() -> None:
    entry = entry_view(_item(), PROJECT, "me-id", "admin@example.com")
    assert entry.action_label == "Impersonation started"
    assert entry.when == "2025-06-15 15:06:40 UTC"
    assert entry.when_iso.startswith("2025-06-15T15:06:40.123")
    assert entry.actor == "Admin admin@example.com (you)"
    assert (entry.actor_ip, entry.actor_user_agent) == ("10.0.0.1", "UA")
    assert entry.target == f"user {USER}"
    assert entry.target_path == f"/projects/{PROJECT}/users/{USER}"
    assert entry.details == [
        ("expires at", "2025-06-15 16:06:40 UTC"),
        ("session id", "s1"),
    ]

    other = entry_view(
        _item(
            action="project.config_updated",
            actor={"type": "admin_user", "user_id": "someone", "ip": None, "user_agent": None},
            target={"type": "project", "id": PROJECT},
            details={"changed_keys": ["auth", "domains"]},
        ),
        PROJECT,
        "me-id",
        "admin@example.com",
    )
    assert other.action_label == "Config updated"
    assert other.actor == "Admin someone"
    assert other.target_path is None
    assert other.details == [("changed keys", "auth, domains")]

    key = entry_view(
        _item(action="key_set.future_thing", actor={"type": "admin_key", "user_id": None},
              target={"type": "key_set", "id": "k1"}, details={}),
        PROJECT, None, None,
    )  # fmt: skip
    assert (key.action_label, key.actor, key.target, key.details) == (
        "key_set.future_thing",
        "Admin key",
        "key set k1",
        [],
    )


# --- the live dashboard -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def logged_dashboard(api: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A dashboard of its own whose log (at debug level, with httpx's request lines) is kept."""
    log = tmp_path_factory.mktemp("dashboard-log") / "dashboard.log"
    server = start_dashboard(api, log=log, STACK_LOG_LEVEL="debug", STACK_LOG_FORMAT="console")
    try:
        yield server, log
    finally:
        stop_process(server.process)


def _admin_session(api: ApiServer) -> Session:
    with api.client() as http:
        tokens = internal_tokens(http)
    return Session(tokens["refresh_token"], tokens["access_token"])


def _browser_like(dashboard: DashboardServer, api: ApiServer) -> tuple[httpx.Client, str]:
    """A client holding a signed-in admin's cookies, and the CSRF token its forms carry."""
    client = httpx.Client(base_url=dashboard.url, timeout=30)
    client.cookies.set("authstack_session", COOKIES.dump_session(_admin_session(api)))
    secret = COOKIES.new_csrf_secret()
    client.cookies.set("authstack_csrf", secret)
    return client, COOKIES.csrf_token(secret)


def _impersonation_sessions(api: ApiServer, project: Project, user_id: str) -> list[Any]:
    with api.client() as http:
        r = http.get(
            "/api/v1/auth/sessions",
            params={"user_id": user_id},
            headers=project.headers("admin"),
        )
    assert r.status_code == 200, r.text
    return [s for s in r.json()["items"] if s["is_impersonation"]]


def test_impersonate_form_needs_csrf_and_answers_an_uncached_page_with_a_working_session(
    api: ApiServer, logged_dashboard: tuple[DashboardServer, Path]
) -> None:
    dashboard, log = logged_dashboard
    with api.client() as http:
        project = admin_project(http, "Impersonate form")
        user = create_user(http, project, primary_email=f"{unique('imp')}@example.com")
    path = f"/projects/{project.id}/users/{user['id']}/impersonate"
    client, csrf = _browser_like(dashboard, api)
    with client:
        for form in ({}, {"csrf_token": ""}, {"csrf_token": "0" * 64}):
            refused = client.post(path, data={"back": "/projects", **form})
            assert refused.status_code == 403, form
            assert "security token is missing or out of date" in refused.text
        # A GET is no way in either.
        assert client.get(path).status_code == 404
        assert _impersonation_sessions(api, project, user["id"]) == []

        r = client.post(path, data={"csrf_token": csrf, "back": f"/projects/{project.id}"})
    assert r.status_code == 200, r.text
    assert r.headers.get_list("cache-control") == ["no-store"]
    assert "set the impersonation handler URL" in r.text  # none configured
    found = re.search(r"const refreshToken = &#34;([^&]+)&#34;;", r.text)
    assert found, r.text
    refresh_token = found.group(1)
    [session] = _impersonation_sessions(api, project, user["id"])

    with api.client() as http:
        refreshed = http.post(
            "/api/v1/auth/sessions/current/refresh",
            headers=project.headers(**{"x-stack-refresh-token": refresh_token}),
        )
        assert refreshed.status_code == 200, refreshed.text
        access = refreshed.json()["access_token"]
        as_user = project.headers(**{"x-stack-access-token": access})
        me = http.get("/api/v1/users/me", headers=as_user)
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user["id"]
    claims = token_claims(access)
    assert (claims["sub"], claims["is_impersonation"]) == (user["id"], True)
    # The audit log has it, for the hour the dashboard asked for.
    with api.client() as http:
        audit = http.get("/api/v1/internal/audit-log", headers=project.headers("admin")).json()
    [entry] = [e for e in audit["items"] if e["action"] == "session.impersonation_started"]
    assert entry["target"] == {"type": "user", "id": user["id"]}
    assert entry["actor"]["type"] == "admin_user"
    assert entry["details"]["session_id"] == session["id"]
    lifetime = entry["details"]["expires_at_millis"] - entry["created_at_millis"]
    assert abs(lifetime - 3_600_000) < 60_000

    text = log.read_text()
    assert "/auth/sessions" in text  # the log holds the dashboard's API calls ...
    assert refresh_token not in text  # ... but never the session it was handed


def test_impersonating_a_user_of_another_project_is_refused(
    api: ApiServer, dashboard: DashboardServer
) -> None:
    with api.client() as http:
        project = admin_project(http, "Impersonate here")
        elsewhere = admin_project(http, "Impersonate there")
        stranger = create_user(http, elsewhere, primary_email=f"{unique('far')}@example.com")
    client, csrf = _browser_like(dashboard, api)
    with client:
        page = f"/projects/{project.id}/users/{stranger['id']}"
        r = client.post(f"{page}/impersonate", data={"csrf_token": csrf, "back": page})
    assert r.status_code == 303
    assert r.headers["location"] == page
    assert _impersonation_sessions(api, elsewhere, stranger["id"]) == []


def test_an_admin_of_another_team_neither_reads_the_audit_log_nor_impersonates(
    api: ApiServer, dashboard: DashboardServer
) -> None:
    with api.client() as http:
        project = admin_project(http, "Not theirs")
        user = create_user(http, project, primary_email=f"{unique('mine')}@example.com")
        email = f"{unique('outsider')}@example.com"
        internal_sign_up(http, email)
        outsider = internal_tokens(http, email, PASSWORD)
    client, csrf = _browser_like(dashboard, api)
    client.cookies.set(
        "authstack_session",
        COOKIES.dump_session(Session(outsider["refresh_token"], outsider["access_token"])),
    )
    base = f"/projects/{project.id}"
    with client:
        r = client.get(f"{base}/audit-log")
        assert r.status_code == 404
        assert "not a member of the team" in r.text
        r = client.post(
            f"{base}/users/{user['id']}/impersonate", data={"csrf_token": csrf, "back": base}
        )
        assert r.status_code == 404
    assert _impersonation_sessions(api, project, user["id"]) == []
