"""Fixtures for the API tests that need the seeded internal project's admin."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ApiServer, Project


@pytest.fixture(scope="session")
def admin_access_token(api: ApiServer, internal: Project) -> str:
    """An access token of the seeded internal admin (a member of the internal owner team)."""
    with api.client() as http:
        r = http.post(
            "/api/v1/auth/password/sign-in",
            headers=internal.headers(),
            json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        )
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


@pytest.fixture(params=["x-stack-", "x-hexclave-"])
def prefix(request: pytest.FixtureRequest) -> str:
    """Both header spellings the SDKs use: x-stack-* (≤ 2.8.102) and x-hexclave-* (2.8.108)."""
    value: str = request.param
    return value
