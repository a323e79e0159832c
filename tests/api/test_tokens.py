"""Access tokens the API issues, and the JWKS it serves (contract §3)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError
from joserfc.jwk import KeySet

from tests.api.helpers import as_user, create_session, create_user, jwt_parts, sign_up, unique_email
from tests.conftest import SERVER_SECRET, Project
from tests.core import contract_keys as ck

API_URL = "http://localhost:8102"  # NEXT_PUBLIC_STACK_API_URL of the test API
REQUIRED_CLAIMS = {
    "sub", "iat", "exp", "iss", "aud", "project_id", "branch_id", "refresh_token_id", "role",
    "name", "email", "email_verified", "selected_team_id", "signed_up_at", "is_anonymous",
    "is_restricted", "restricted_reason", "requires_totp_mfa",
}  # fmt: skip


def _jwks(http: httpx.Client, project_id: str, query: str = "") -> list[dict[str, str]]:
    r = http.get(f"/api/v1/projects/{project_id}/.well-known/jwks.json{query}")
    assert r.status_code == 200, r.text
    keys: list[dict[str, str]] = r.json()["keys"]
    return keys


def test_access_token_has_exactly_the_required_claims(http: httpx.Client, project: Project) -> None:
    email = unique_email()
    before = int(time.time())
    tokens = sign_up(http, project, email)
    header, claims = jwt_parts(tokens["access_token"])
    assert set(claims) == REQUIRED_CLAIMS
    assert header == {"alg": "ES256", "kid": ck.legacy_kid(SERVER_SECRET, project.id)}
    assert claims["sub"] == tokens["user_id"]
    assert claims["iss"] == f"{API_URL}/api/v1/projects/{project.id}"
    assert claims["aud"] == project.id
    assert claims["project_id"] == project.id
    assert claims["branch_id"] == "main"
    assert claims["role"] == "authenticated"
    assert claims["name"] is None
    assert claims["email"] == email
    assert claims["email_verified"] is False
    assert claims["selected_team_id"] is None
    assert claims["is_anonymous"] is False
    assert claims["is_restricted"] is False
    assert claims["restricted_reason"] is None
    assert claims["requires_totp_mfa"] is False
    assert before - 1 <= claims["iat"] <= time.time() + 1
    assert claims["exp"] - claims["iat"] == 600  # default STACK_ACCESS_TOKEN_EXPIRATION_TIME
    assert before - 2 <= claims["signed_up_at"] <= time.time() + 1


def test_refresh_token_id_claim_is_the_session_id(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    claims = jwt_parts(tokens["access_token"])[1]
    r = http.get(
        "/api/v1/auth/sessions?user_id=me", headers=as_user(project, tokens["access_token"])
    )
    assert [s["id"] for s in r.json()["items"]] == [claims["refresh_token_id"]]


def test_claims_follow_profile_changes_on_refresh(http: httpx.Client, project: Project) -> None:
    tokens = sign_up(http, project)
    http.patch(
        f"/api/v1/users/{tokens['user_id']}",
        headers=project.headers("server"),
        json={"display_name": "Grace", "primary_email_verified": True},
    )
    r = http.post(
        "/api/v1/auth/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": project.id,
            "client_secret": project.publishable_client_key,
        },
    )
    claims = jwt_parts(r.json()["access_token"])[1]
    assert set(claims) == REQUIRED_CLAIMS
    assert claims["name"] == "Grace"
    assert claims["email_verified"] is True


def test_anonymous_token_claims(http: httpx.Client, project: Project) -> None:
    user = create_user(http, project, is_anonymous=True)
    r = http.post(
        "/api/v1/auth/sessions", headers=project.headers("server"), json={"user_id": user["id"]}
    )
    header, claims = jwt_parts(r.json()["access_token"])
    assert set(claims) == REQUIRED_CLAIMS
    assert claims["aud"] == f"{project.id}:anon"
    assert claims["iss"] == f"{API_URL}/api/v1/projects-anonymous-users/{project.id}"
    assert claims["is_anonymous"] is True
    assert claims["is_restricted"] is True
    assert claims["restricted_reason"] == {"type": "anonymous"}
    assert header["kid"] == ck.legacy_kid(SERVER_SECRET, f"{project.id}:anon")


def test_unverified_user_is_restricted_when_project_requires_verification(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"onboarding.requireEmailVerification": True})
    tokens = sign_up(http, project)
    claims = jwt_parts(tokens["access_token"])[1]
    assert claims["aud"] == f"{project.id}:restricted"
    assert claims["iss"] == f"{API_URL}/api/v1/projects-restricted-users/{project.id}"
    assert claims["is_restricted"] is True
    assert claims["restricted_reason"] == {"type": "email_not_verified"}


def test_served_jwks_has_two_keys_per_audience(http: httpx.Client, project: Project) -> None:
    pid = project.id
    base = ck.expected_jwks(SERVER_SECRET, pid)
    restricted = ck.expected_jwks(SERVER_SECRET, f"{pid}:restricted")
    anon = ck.expected_jwks(SERVER_SECRET, f"{pid}:anon")

    def kids(keys: list[dict[str, str]]) -> list[str]:
        return sorted(k["kid"] for k in keys)

    assert _jwks(http, pid) == base
    assert kids(_jwks(http, pid, "?include_restricted=true")) == kids(base + restricted)
    assert kids(_jwks(http, pid, "?include_anonymous=true")) == kids(base + restricted + anon)
    for key in _jwks(http, pid, "?include_anonymous=true&include_restricted=true"):
        assert key in base + restricted + anon


def test_internal_jwks_kids_are_stable(http: httpx.Client) -> None:
    assert [k["kid"] for k in _jwks(http, "internal")] == ["4kHBs_ZOkAOe", "icGqY0tMMGdl"]


@pytest.mark.parametrize("anonymous", [False, True])
def test_issued_token_verifies_against_served_jwks_with_joserfc(
    http: httpx.Client, project: Project, anonymous: bool
) -> None:
    if anonymous:
        user = create_user(http, project, is_anonymous=True)
        token = create_session(http, project, user["id"])["access_token"]
        audience = f"{project.id}:anon"
    else:
        token = sign_up(http, project)["access_token"]
        audience = project.id
    key_set = KeySet.import_key_set(
        {"keys": _jwks(http, audience.split(":")[0], "?include_anonymous=true")}
    )
    decoded = jwt.decode(token, key_set, algorithms=["ES256"])
    registry = jwt.JWTClaimsRegistry(
        aud={"essential": True, "value": audience},
        sub={"essential": True},
        exp={"essential": True},
    )
    registry.validate(decoded.claims)

    header, _, signature = token.split(".")
    claims = dict(decoded.claims, sub="00000000-0000-4000-8000-000000000000")
    forged_payload = ck.b64url(ck.stringify(claims))
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{forged_payload}.{signature}", key_set, algorithms=["ES256"])


def test_token_does_not_verify_against_another_projects_jwks(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    a, b = make_project(), make_project()
    token = sign_up(http, a)["access_token"]
    key_set = KeySet.import_key_set({"keys": _jwks(http, b.id)})
    with pytest.raises(InvalidKeyIdError):
        jwt.decode(token, key_set, algorithms=["ES256"])
    # Even claiming one of B's key ids, A's signature does not verify under B's keys.
    _, payload, signature = token.split(".")
    relabelled = ck.b64url(
        ck.stringify({"alg": "ES256", "kid": ck.legacy_kid(SERVER_SECRET, b.id)})
    )
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{relabelled}.{payload}.{signature}", key_set, algorithms=["ES256"])
