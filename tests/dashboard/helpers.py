"""API helpers for the dashboard tests: admin tokens, projects and keys made through the API."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.api.helpers import PASSWORD, admin_headers
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, INTERNAL_KEYS, Project
from tests.factories import INTERNAL_PROJECT_ID, INTERNAL_TEAM_ID, run_captured

SDK_DIR = Path(__file__).resolve().parent.parent / "e2e" / "sdk"
__all__ = ["INTERNAL_TEAM_ID", "PASSWORD", "admin_headers"]  # what the browser tests take from here


def unique(tag: str) -> str:
    """``tag`` with a random suffix: names that no earlier test has used."""
    return f"{tag}-{uuid.uuid4().hex[:10]}"


def internal_client_headers(access_token: str | None = None) -> dict[str, str]:
    headers = {
        "x-stack-access-type": "client",
        "x-stack-project-id": INTERNAL_PROJECT_ID,
        "x-stack-publishable-client-key": INTERNAL_KEYS["publishable_client_key"],
    }
    if access_token:
        headers["x-stack-access-token"] = access_token
    return headers


def internal_tokens(
    http: httpx.Client, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD
) -> dict[str, str]:
    """An internal user's password sign-in: its access and refresh tokens."""
    r = http.post(
        "/api/v1/auth/password/sign-in",
        headers=internal_client_headers(),
        json={"email": email, "password": password},
    )
    assert r.status_code == 200, r.text
    tokens: dict[str, str] = r.json()
    return tokens


def internal_sign_in(
    http: httpx.Client, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD
) -> str:
    return internal_tokens(http, email, password)["access_token"]


def internal_sign_up(http: httpx.Client, email: str) -> tuple[str, str]:
    """A new internal user (with a personal team); returns (access token, team id)."""
    r = http.post(
        "/api/v1/auth/password/sign-up",
        headers=internal_client_headers(),
        json={"email": email, "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = http.get("/api/v1/users/me", headers=internal_client_headers(token)).json()
    return token, me["selected_team_id"]


def api_project(
    http: httpx.Client, admin_token: str, name: str, team_id: str = INTERNAL_TEAM_ID
) -> Project:
    """A project created through the admin API, with a fresh key set."""
    r = http.post(
        "/api/v1/internal/projects",
        headers=internal_client_headers(admin_token),
        json={"display_name": name, "owner_team_id": team_id},
    )
    assert r.status_code == 201, r.text
    project_id = r.json()["id"]
    r = http.post(
        "/api/v1/internal/api-keys",
        headers=admin_headers(project_id, admin_token),
        json={
            "description": "tests",
            "expires_at_millis": int(time.time() * 1000) + 86_400_000,
            "has_publishable_client_key": True,
            "has_secret_server_key": True,
            "has_super_secret_admin_key": True,
        },
    )
    assert r.status_code == 200, r.text
    keys = r.json()
    return Project(
        project_id,
        "",
        keys["publishable_client_key"],
        keys["secret_server_key"],
        keys["super_secret_admin_key"],
    )


def admin_project(http: httpx.Client, tag: str) -> Project:
    """A new project of the internal team, named after ``tag``, made by the seeded admin."""
    return api_project(http, internal_sign_in(http), unique(tag))


def sdk_sign_up(api_url: str, project_id: str, keys: dict[str, str], email: str) -> dict[str, Any]:
    """The official @stackframe/js signs ``email`` up with the given keys (node, real SDK)."""
    env = {
        **os.environ,
        "SDK_PACKAGE": "@stackframe/js",
        "AUTHSTACK_API_URL": api_url,
        "AUTHSTACK_PROJECT_ID": project_id,
        "AUTHSTACK_PUBLISHABLE_CLIENT_KEY": keys["publishable_client_key"],
        "AUTHSTACK_SECRET_SERVER_KEY": keys["secret_server_key"],
        "SIGN_UP_EMAIL": email,
        "NO_COLOR": "1",
    }
    done = run_captured(["node", "dashboard/sign-up.mjs"], timeout=120, cwd=SDK_DIR, env=env)
    assert done.returncode == 0, f"SDK sign-up failed:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
