"""The API starts against a migrated database and signs a user up and in."""

from __future__ import annotations

import httpx

from tests.conftest import Project


def test_sign_up_then_get_me(http: httpx.Client, project: Project) -> None:
    r = http.post(
        "/api/v1/auth/password/sign-up",
        headers=project.headers(),
        json={"email": "smoke@example.com", "password": "correct-horse-1"},
    )
    assert r.status_code == 200, r.text
    tokens = r.json()
    me = http.get(
        "/api/v1/users/me",
        headers=project.headers(**{"x-stack-access-token": tokens["access_token"]}),
    )
    assert me.status_code == 200, me.text
    assert me.json()["primary_email"] == "smoke@example.com"
    assert me.json()["id"] == tokens["user_id"]
