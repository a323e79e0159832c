"""The passkey routes' rate limits, through an API process with low limits that trusts loopback
as its proxy (so each test picks its client address with X-Forwarded-For)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.helpers import as_user, create_session, create_user
from tests.api.test_rate_limits import assert_rate_limited, client_ip
from tests.conftest import QUEUE_NAMESPACE, ApiServer, Project, create_project, running_api
from tests.passkeys.helpers import INITIATE_AUTHENTICATION, INITIATE_REGISTRATION, PASSKEY_CONFIG

LIMITS = (
    "passkey_sign_in.ip=1/1h:2; passkey_registration.ip=1/1h:3; passkey_registration.account=1/1h:2"
)


@pytest.fixture(scope="module")
def limited(migrated_database: str) -> Iterator[ApiServer]:
    env = {
        "STACK_QUEUE_NAMESPACE": f"{QUEUE_NAMESPACE}:rlpk",
        "STACK_TRUSTED_PROXY_NETWORKS": "127.0.0.1/32",
        "STACK_RATE_LIMITS": LIMITS,
    }
    with running_api(migrated_database, **env) as server:
        yield server


@pytest.fixture
def http(limited: ApiServer) -> Iterator[httpx.Client]:
    with limited.client() as client:
        yield client


@pytest.fixture
def passkey_project(migrated_database: str) -> Project:
    return create_project(migrated_database, PASSKEY_CONFIG)


def _user_headers(http: httpx.Client, project: Project, ip: str) -> dict[str, str]:
    """A new user's client headers, from address ``ip`` (users made with the server key, which
    no passkey limit counts)."""
    user = create_user(http, project)
    token = create_session(http, project, user["id"])["access_token"]
    return {**as_user(project, token), "x-forwarded-for": ip}


def test_sign_in_ceremonies_are_limited_per_address(
    http: httpx.Client, passkey_project: Project
) -> None:
    ip = client_ip()
    headers = {**passkey_project.headers(), "x-forwarded-for": ip}
    for _ in range(2):
        assert http.post(INITIATE_AUTHENTICATION, headers=headers, json={}).status_code == 200
    # The sign-in route shares the bucket (counted once the body has its shape, before anything
    # is looked up).
    response = {
        "id": "AA",
        "rawId": "AA",
        "type": "public-key",
        "response": {"clientDataJSON": "", "authenticatorData": "", "signature": ""},
    }
    body = {"authentication_response": response, "code": "x" * 45}  # fmt: skip
    assert_rate_limited(http.post("/api/v1/auth/passkey/sign-in", headers=headers, json=body))
    assert_rate_limited(http.post(INITIATE_AUTHENTICATION, headers=headers, json={}))
    other = {**passkey_project.headers(), "x-forwarded-for": client_ip()}
    assert http.post(INITIATE_AUTHENTICATION, headers=other, json={}).status_code == 200


def test_registrations_are_limited_per_user_and_per_address(
    http: httpx.Client, passkey_project: Project
) -> None:
    first_ip = client_ip()
    user = _user_headers(http, passkey_project, first_ip)
    for _ in range(2):
        assert http.post(INITIATE_REGISTRATION, headers=user, json={}).status_code == 200
    # The same user from another address: its own bucket is empty.
    moved = {**user, "x-forwarded-for": client_ip()}
    assert_rate_limited(http.post(INITIATE_REGISTRATION, headers=moved, json={}))
    # Another user from the first address has its third request; the fourth is refused.
    second = _user_headers(http, passkey_project, first_ip)
    assert http.post(INITIATE_REGISTRATION, headers=second, json={}).status_code == 200
    third = _user_headers(http, passkey_project, first_ip)
    assert_rate_limited(http.post(INITIATE_REGISTRATION, headers=third, json={}))
