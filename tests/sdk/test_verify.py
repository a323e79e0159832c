"""AccessTokenVerifier against a live API: accepts its tokens, refuses everything else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest

from authstack_core.crypto.tokens import TokenService, b64url, derive_keys
from authstack_sdk import (
    AccessTokenVerifier,
    AnonymousTokenError,
    ExpiredTokenError,
    InvalidTokenError,
    JwksUnavailableError,
    RestrictedTokenError,
    WrongProjectTokenError,
)
from tests.conftest import SERVER_SECRET, ApiServer
from tests.factories import Project, free_port
from tests.sdk.verify_support import (
    counting_proxy,
    issuing_api,
    sign_up,
    sign_up_anonymous,
)

__all__ = ["issuing_api"]  # the module's fixture, imported


def _verifier(api: ApiServer, project: Project, **options: Any) -> AccessTokenVerifier:
    return AccessTokenVerifier(api.url, project.id, **options)


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    head, body, signature = token.split(".")
    decode = base64.urlsafe_b64decode
    return (
        json.loads(decode(head + "=" * (-len(head) % 4))),
        json.loads(decode(body + "=" * (-len(body) % 4))),
        signature,
    )


def _compact(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return ".".join(b64url(json.dumps(part).encode()) for part in (header, payload))


def _sign_with_project_key(api: ApiServer, project: Project, **changes: Any) -> str:
    """A token signed with the project's real signing key (known to the tests through the
    server secret), its claims changed as given: what a buggy or hostile issuer could make."""
    key = derive_keys(SERVER_SECRET, project.id)[0]
    now = int(time.time())
    payload = {
        "sub": "00000000-0000-4000-8000-000000000000",
        "project_id": project.id,
        "branch_id": "main",
        "refresh_token_id": "00000000-0000-4000-8000-000000000001",
        "role": "authenticated",
        "is_anonymous": False,
        "is_restricted": False,
        "restricted_reason": None,
        "iss": f"{api.url}/api/v1/projects/{project.id}",
        "aud": project.id,
        "iat": now,
        "exp": now + 600,
        **changes,
    }
    return jwt.encode(payload, key.private_key, algorithm="ES256", headers={"kid": key.kid})


def test_accepts_a_token_from_password_sign_up(issuing_api: ApiServer, project: Project) -> None:
    user = sign_up(issuing_api, project, email="verify-me@example.com")
    claims = _verifier(issuing_api, project).verify_access_token(user.access_token)
    assert claims.user_id == user.user_id
    assert claims.project_id == project.id
    assert claims.branch_id == "main"
    assert claims.audience == project.id
    assert claims.issuer == f"{issuing_api.url}/api/v1/projects/{project.id}"
    assert claims.primary_email == "verify-me@example.com"
    assert claims.role == "authenticated"
    assert claims.refresh_token_id
    assert (claims.is_anonymous, claims.is_restricted, claims.restricted_reason) == (
        False,
        False,
        None,
    )
    assert claims.issued_at <= time.time() < claims.expires_at
    assert claims.raw["sub"] == user.user_id


async def test_async_entry_point_accepts_the_same_token(
    issuing_api: ApiServer, project: Project
) -> None:
    user = sign_up(issuing_api, project)
    verifier = _verifier(issuing_api, project)
    claims = await verifier.verify_access_token_async(user.access_token)
    assert claims.user_id == user.user_id
    assert claims == verifier.verify_access_token(user.access_token)


def test_refuses_a_tampered_token(issuing_api: ApiServer, project: Project) -> None:
    user = sign_up(issuing_api, project)
    other = sign_up(issuing_api, project)
    header, payload, signature = _segments(user.access_token)
    verifier = _verifier(issuing_api, project)
    # Another user's id in a signed token: the signature no longer matches.
    forged = _compact(header, {**payload, "sub": other.user_id}) + "." + signature
    with pytest.raises(InvalidTokenError, match="signature"):
        verifier.verify_access_token(forged)
    # The signature itself altered.
    flipped = "A" if signature[10] != "A" else "B"
    broken = user.access_token[: -len(signature)] + signature[:10] + flipped + signature[11:]
    with pytest.raises(InvalidTokenError):
        verifier.verify_access_token(broken)
    assert verifier.verify_access_token(user.access_token).user_id == user.user_id


def test_refuses_an_expired_token_beyond_the_leeway(
    issuing_api: ApiServer, project: Project
) -> None:
    """Signed by the API's own key service, issued in the past: expired 100 s ago is refused
    with its expiry; expired 2 s ago is within the default 5 s leeway."""
    tokens = TokenService(SERVER_SECRET, issuing_api.url, 600)
    user = sign_up(issuing_api, project)

    def issued(seconds_ago: int) -> str:
        return tokens.sign_access_token(
            project_id=project.id,
            branch_id="main",
            user_id=user.user_id,
            refresh_token_id="00000000-0000-4000-8000-000000000001",
            display_name=None,
            primary_email=None,
            primary_email_verified=False,
            selected_team_id=None,
            signed_up_at_seconds=int(time.time()) - 1000,
            is_anonymous=False,
            restricted_reason=None,
            requires_totp_mfa=False,
            now=int(time.time()) - seconds_ago,
        )

    verifier = _verifier(issuing_api, project)
    expired = issued(700)
    with pytest.raises(ExpiredTokenError) as refused:
        verifier.verify_access_token(expired)
    assert refused.value.code == "ACCESS_TOKEN_EXPIRED"
    assert refused.value.expired_at == _segments(expired)[1]["exp"]
    assert verifier.verify_access_token(issued(602)).user_id == user.user_id
    with pytest.raises(ExpiredTokenError):
        _verifier(issuing_api, project, leeway=0).verify_access_token(issued(602))


def test_refuses_a_token_of_another_project_without_fetching_keys(
    issuing_api: ApiServer, project: Project, make_project: Any
) -> None:
    other_project = make_project()
    stranger = sign_up(issuing_api, other_project)
    with counting_proxy(issuing_api.url) as proxy:
        verifier = AccessTokenVerifier(proxy.url, project.id, issuer_base_url=issuing_api.url)
        with pytest.raises(WrongProjectTokenError) as refused:
            verifier.verify_access_token(stranger.access_token)
        assert proxy.jwks_fetches() == 0
    assert refused.value.expected_project_id == project.id
    assert refused.value.actual_project_id == other_project.id
    assert refused.value.code == "INVALID_PROJECT_FOR_ACCESS_TOKEN"


def test_refuses_wrong_audience_and_wrong_issuer(issuing_api: ApiServer, project: Project) -> None:
    verifier = _verifier(issuing_api, project)
    # The control: the same forging path with the right claims is accepted.
    assert verifier.verify_access_token(_sign_with_project_key(issuing_api, project)).user_id
    for changes in (
        {"aud": "some-other-service"},
        {"aud": [project.id, "some-other-service"]},
        {"iss": f"https://elsewhere.example/api/v1/projects/{project.id}"},
        # A normal user's token under the restricted audience: user type and audience disagree.
        {
            "aud": f"{project.id}:restricted",
            "iss": issuing_api.url + f"/api/v1/projects-restricted-users/{project.id}",
        },
        {"branch_id": "feature"},
        {"exp": None},
    ):
        with pytest.raises(InvalidTokenError):
            verifier.verify_access_token(_sign_with_project_key(issuing_api, project, **changes))


def test_refuses_alg_none_and_hs256_with_the_public_key(
    issuing_api: ApiServer, project: Project
) -> None:
    user = sign_up(issuing_api, project)
    header, payload, _ = _segments(user.access_token)
    verifier = _verifier(issuing_api, project)
    for alg in ("none", "None", "NONE"):
        unsigned = _compact({**header, "alg": alg}, payload) + "."
        with pytest.raises(InvalidTokenError):
            verifier.verify_access_token(unsigned)
    # Key confusion: an HMAC over the token keyed with the (public) JWK the JWKS publishes.
    jwks = issuing_api.client().get(f"/api/v1/projects/{project.id}/.well-known/jwks.json").json()
    public_jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    for secret in (json.dumps(public_jwk).encode(), public_jwk["x"].encode()):
        signing_input = _compact({**header, "alg": "HS256"}, payload)
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        with pytest.raises(InvalidTokenError):
            verifier.verify_access_token(signing_input + "." + b64url(mac))


@pytest.mark.parametrize(
    "token", ["", "not-a-token", "a.b.c", "a.b", "..", "é.é.é", "x" * 20_000, "e30.e30.e30"]
)
def test_refuses_malformed_tokens(issuing_api: ApiServer, project: Project, token: str) -> None:
    with pytest.raises(InvalidTokenError):
        _verifier(issuing_api, project).verify_access_token(token)


def test_anonymous_users_are_refused_unless_allowed(
    issuing_api: ApiServer, project: Project
) -> None:
    anonymous = sign_up_anonymous(issuing_api, project)
    verifier = _verifier(issuing_api, project)
    with pytest.raises(AnonymousTokenError) as refused:
        verifier.verify_access_token(anonymous.access_token)
    assert (refused.value.code, refused.value.status) == (
        "ANONYMOUS_AUTHENTICATION_NOT_ALLOWED",
        401,
    )
    # Allowing restricted users does not let anonymous ones in.
    with pytest.raises(AnonymousTokenError):
        verifier.verify_access_token(anonymous.access_token, allow_restricted=True)
    claims = verifier.verify_access_token(anonymous.access_token, allow_anonymous=True)
    assert (claims.user_id, claims.is_anonymous, claims.is_restricted) == (
        anonymous.user_id,
        True,
        True,
    )
    assert claims.audience == f"{project.id}:anon"
    allowing = _verifier(issuing_api, project, allow_anonymous=True)
    assert allowing.verify_access_token(anonymous.access_token).is_anonymous


async def test_restricted_users_are_refused_unless_allowed(
    issuing_api: ApiServer, make_project: Any
) -> None:
    project = make_project({"onboarding.requireEmailVerification": True})
    unverified = sign_up(issuing_api, project)
    verifier = _verifier(issuing_api, project)
    with pytest.raises(RestrictedTokenError) as refused:
        await verifier.verify_access_token_async(unverified.access_token)
    assert (refused.value.status, refused.value.restricted_reason) == (403, "email_not_verified")
    claims = await verifier.verify_access_token_async(
        unverified.access_token, allow_restricted=True
    )
    assert (claims.is_restricted, claims.restricted_reason) == (True, "email_not_verified")
    # Allowing anonymous users allows restricted ones too, as the API's header does.
    assert verifier.verify_access_token(unverified.access_token, allow_anonymous=True).user_id


def test_keys_out_of_reach_give_a_server_side_error(project: Project) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    verifier = AccessTokenVerifier(nowhere, project.id, timeout=2)
    token = _sign_with_project_key(ApiServer(nowhere, "", None), project)  # type: ignore[arg-type]
    with pytest.raises(JwksUnavailableError) as refused:
        verifier.verify_access_token(token)
    assert refused.value.status == 503
    assert "ConnectError" in str(refused.value)
