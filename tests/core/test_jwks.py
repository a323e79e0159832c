"""Key derivation and JWKS (contract §3) against the contract's formulas, computed independently."""

from __future__ import annotations

import time

import jwt as pyjwt
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet

from authstack_core.crypto.tokens import TokenExpiredError, TokenInvalidError, TokenService
from tests.conftest import SERVER_SECRET
from tests.core import contract_keys as ck

API_URL = "http://localhost:8102"
PROJECT = "6fbbf22e-f4b2-4c6e-95a1-beab6fa41063"


def _service(secret: str = SERVER_SECRET, lifetime: int = 600) -> TokenService:
    return TokenService(secret, API_URL, lifetime)


def _sign(service: TokenService, **overrides: object) -> str:
    args: dict[str, object] = {
        "project_id": PROJECT,
        "branch_id": "main",
        "user_id": "0b3c3f0e-8a53-4c43-9a55-2f9e3f1b7c11",
        "refresh_token_id": "7f1e8b1c-3d0c-4a39-8a3f-1c2d3e4f5a6b",
        "display_name": "Ada",
        "primary_email": "ada@example.com",
        "primary_email_verified": True,
        "selected_team_id": None,
        "signed_up_at_seconds": 1_700_000_000,
        "is_anonymous": False,
        "restricted_reason": None,
        "requires_totp_mfa": False,
    }
    args.update(overrides)
    return service.sign_access_token(**args)  # type: ignore[arg-type]


def test_contract_formulas_give_these_pinned_kids() -> None:
    """A regression pin: the same secret must always give the same kids (tokens survive deploys)."""
    assert ck.legacy_kid(SERVER_SECRET, "internal") == "4kHBs_ZOkAOe"
    assert ck.new_kid(SERVER_SECRET, "internal") == "icGqY0tMMGdl"
    assert ck.legacy_kid(SERVER_SECRET, PROJECT) == "IY-ASwIJHoHw"
    assert ck.new_kid(SERVER_SECRET, PROJECT) == "FMnSI3TvPTAz"


@pytest.mark.parametrize(
    "audience", ["internal", PROJECT, f"{PROJECT}:restricted", f"{PROJECT}:anon"]
)
def test_jwks_keys_are_the_contract_derivation(audience: str) -> None:
    project_id = audience.split(":", 1)[0]
    served = _service().jwks(project_id, include_restricted=True, include_anonymous=True)["keys"]
    expected = ck.expected_jwks(SERVER_SECRET, audience)
    assert expected[0] in served
    assert expected[1] in served


def test_two_keys_per_audience_and_flags_add_audiences() -> None:
    service = _service()

    def kids(**flags: bool) -> list[str]:
        return [k["kid"] for k in service.jwks(PROJECT, **flags)["keys"]]  # type: ignore[arg-type]

    base = [ck.legacy_kid(SERVER_SECRET, PROJECT), ck.new_kid(SERVER_SECRET, PROJECT)]
    restricted = [
        ck.legacy_kid(SERVER_SECRET, f"{PROJECT}:restricted"),
        ck.new_kid(SERVER_SECRET, f"{PROJECT}:restricted"),
    ]
    anon = [
        ck.legacy_kid(SERVER_SECRET, f"{PROJECT}:anon"),
        ck.new_kid(SERVER_SECRET, f"{PROJECT}:anon"),
    ]
    assert kids(include_restricted=False, include_anonymous=False) == base
    assert sorted(kids(include_restricted=True, include_anonymous=False)) == sorted(
        base + restricted
    )
    assert sorted(kids(include_restricted=False, include_anonymous=True)) == sorted(
        base + restricted + anon
    )


def test_different_secrets_give_different_keys() -> None:
    other = "c29tZS1vdGhlci1zZXJ2ZXItc2VjcmV0LXZhbHVl"
    a = _service().jwks(PROJECT, include_restricted=False, include_anonymous=False)
    b = _service(other).jwks(PROJECT, include_restricted=False, include_anonymous=False)
    assert {k["kid"] for k in a["keys"]}.isdisjoint({k["kid"] for k in b["keys"]})
    assert b["keys"] == ck.expected_jwks(other, PROJECT)


def test_signed_token_uses_the_legacy_key_and_verifies_with_a_jose_library() -> None:
    token = _sign(_service())
    header = pyjwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": ck.legacy_kid(SERVER_SECRET, PROJECT)}
    key_set = KeySet.import_key_set({"keys": ck.expected_jwks(SERVER_SECRET, PROJECT)})
    decoded = jwt.decode(token, key_set, algorithms=["ES256"])
    assert decoded.claims["aud"] == PROJECT
    assert decoded.claims["iss"] == f"{API_URL}/api/v1/projects/{PROJECT}"
    assert decoded.claims["exp"] - decoded.claims["iat"] == 600


def test_signature_check_fails_after_tampering() -> None:
    token = _sign(_service())
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    key_set = KeySet.import_key_set({"keys": ck.expected_jwks(SERVER_SECRET, PROJECT)})
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{payload}.{flipped}", key_set, algorithms=["ES256"])
    with pytest.raises(TokenInvalidError):
        _service().verify_access_token(f"{header}.{payload}.{flipped}")


@pytest.mark.parametrize(
    ("is_anonymous", "reason", "audience", "issuer_path"),
    [
        (False, None, PROJECT, "projects"),
        (False, {"type": "restricted_by_administrator"}, f"{PROJECT}:restricted",
         "projects-restricted-users"),
        (True, {"type": "anonymous"}, f"{PROJECT}:anon", "projects-anonymous-users"),
    ],
)  # fmt: skip
def test_issuer_and_audience_follow_the_user_type(
    is_anonymous: bool, reason: dict[str, str] | None, audience: str, issuer_path: str
) -> None:
    service = _service()
    token = _sign(service, is_anonymous=is_anonymous, restricted_reason=reason)
    claims = pyjwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == audience
    assert claims["iss"] == f"{API_URL}/api/v1/{issuer_path}/{PROJECT}"
    assert claims["is_restricted"] is (reason is not None)
    assert pyjwt.get_unverified_header(token)["kid"] == ck.legacy_kid(SERVER_SECRET, audience)
    verified = service.verify_access_token(token)
    assert verified.is_anonymous is is_anonymous
    assert verified.restricted_reason == reason


def test_token_of_another_secret_is_invalid() -> None:
    token = _sign(_service("c29tZS1vdGhlci1zZXJ2ZXItc2VjcmV0LXZhbHVl"))
    with pytest.raises(TokenInvalidError):
        _service().verify_access_token(token)


def test_token_whose_audience_names_another_project_is_invalid() -> None:
    """A token for project A re-labelled (payload only) as project B must not verify."""
    service = _service()
    token = _sign(service)
    claims = pyjwt.decode(token, options={"verify_signature": False})
    other = "11111111-2222-4333-8444-555555555555"
    claims.update(project_id=other)
    relabelled = pyjwt.encode(
        claims,
        service.keys_for(PROJECT)[0].private_key,
        algorithm="ES256",
        headers={"kid": ck.legacy_kid(SERVER_SECRET, PROJECT)},
    )
    with pytest.raises(TokenInvalidError):
        service.verify_access_token(relabelled)


def test_expired_token_raises_expired_with_its_claims() -> None:
    service = _service()
    token = _sign(service, now=int(time.time()) - 601)
    with pytest.raises(TokenExpiredError) as caught:
        service.verify_access_token(token)
    assert caught.value.payload["sub"] == "0b3c3f0e-8a53-4c43-9a55-2f9e3f1b7c11"
    assert caught.value.payload["refresh_token_id"] == "7f1e8b1c-3d0c-4a39-8a3f-1c2d3e4f5a6b"


def test_token_with_another_branch_is_invalid() -> None:
    service = _service()
    with pytest.raises(TokenInvalidError):
        service.verify_access_token(_sign(service, branch_id="dev"))
