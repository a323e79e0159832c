"""Requests of the CLI sign-in flow, as the SDK's promptCliLogin and the browser page send them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import as_user
from tests.api.team_helpers import User
from tests.conftest import Project

START = "/api/v1/auth/cli"
POLL = "/api/v1/auth/cli/poll"
COMPLETE = "/api/v1/auth/cli/complete"
INVALID_LOGIN_CODE = "Invalid login code or the code has expired"


def start(http: httpx.Client, project: Project, **body: Any) -> dict[str, str]:
    """A new attempt started as the CLI does (client access, no user); returns its codes."""
    r = http.post(START, headers=project.headers(), json=body)
    assert r.status_code == 200, r.text
    attempt: dict[str, str] = r.json()
    return attempt


def poll(http: httpx.Client, project: Project, polling_code: str) -> httpx.Response:
    return http.post(POLL, headers=project.headers(), json={"polling_code": polling_code})


def poll_status(http: httpx.Client, project: Project, polling_code: str) -> str:
    """The status of a poll that hands nothing out (200)."""
    r = poll(http, project, polling_code)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"status"}, r.text
    status: str = r.json()["status"]
    return status


def complete(
    http: httpx.Client,
    project: Project,
    login_code: str,
    user: User | None = None,
    **body: Any,
) -> httpx.Response:
    """The browser's POST /auth/cli/complete; with ``user``, as that signed-in user sending its own
    refresh token (the SDK's cliLogin), unless ``body`` says otherwise."""
    headers = project.headers() if user is None else as_user(project, user.access_token)
    if user is not None:
        body.setdefault("refresh_token", user.refresh_token)
    return http.post(COMPLETE, headers=headers, json={"login_code": login_code, **body})


def assert_invalid_login_code(r: httpx.Response) -> None:
    """Upstream's one plain 400 for a login code that is unknown, expired or already used."""
    assert (r.status_code, r.text) == (400, INVALID_LOGIN_CODE), (r.status_code, r.text)
    assert r.headers["content-type"].startswith("text/plain")
    assert "x-stack-known-error" not in r.headers


def anonymous_session(http: httpx.Client, project: Project) -> dict[str, str]:
    """A new anonymous user's ``{access_token, refresh_token, user_id}`` (POST /auth/anonymous/
    sign-up, as the SDK's ``getUser({or: "anonymous"})`` does)."""
    r = http.post("/api/v1/auth/anonymous/sign-up", headers=project.headers())
    assert r.status_code == 200, r.text
    tokens: dict[str, str] = r.json()
    return tokens


def as_anonymous(project: Project, access_token: str) -> dict[str, str]:
    """Client headers of an anonymous user, who must say that anonymous users are welcome."""
    return project.headers(
        **{"x-stack-access-token": access_token, "x-stack-allow-anonymous-user": "true"}
    )


def b_cli_attempt(http: httpx.Client, b: Project) -> dict[str, str]:
    """A CLI sign-in of B's waiting for its browser, started with an anonymous session of B's."""
    anon = anonymous_session(http, b)
    r = http.post(START, headers=b.headers(), json={"anon_refresh_token": anon["refresh_token"]})
    assert r.status_code == 200, r.text
    return {
        "b_cli_polling_code": r.json()["polling_code"],
        "b_cli_login_code": r.json()["login_code"],
        "b_cli_anon_refresh_token": anon["refresh_token"],
    }


def b_cli_state(http: httpx.Client, b: Project, ids: dict[str, str]) -> dict[str, Any]:
    """What B's own keys read of B's CLI attempt: still waiting, its anonymous session unclaimed."""
    polled = http.post(POLL, headers=b.headers(), json={"polling_code": ids["b_cli_polling_code"]})
    checked = http.post(
        COMPLETE,
        headers=b.headers(),
        json={"login_code": ids["b_cli_login_code"], "mode": "check"},
    )
    return {"poll": polled.json(), "check": checked.json()}
