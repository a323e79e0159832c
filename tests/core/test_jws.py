"""Access-token JWS (crypto/jws.py, joserfc) against PyJWT, in both directions, and the claim
checks verify_access_token makes without PyJWT."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt as pyjwt
import pytest

from authstack_core.crypto import jws
from authstack_core.crypto.tokens import TokenExpiredError, TokenInvalidError, TokenService
from tests.conftest import SERVER_SECRET

API_URL = "http://localhost:8102"
PROJECT = "6fbbf22e-f4b2-4c6e-95a1-beab6fa41063"
ISSUER = f"{API_URL}/api/v1/projects/{PROJECT}"
SERVICE = TokenService(SERVER_SECRET, API_URL, 600)
KEY = SERVICE.keys_for(PROJECT)[0]


def _sign(now: int, **overrides: Any) -> str:
    args: dict[str, Any] = {
        "project_id": PROJECT,
        "branch_id": "main",
        "user_id": "0b3c3f0e-8a53-4c43-9a55-2f9e3f1b7c11",
        "refresh_token_id": "7f1e8b1c-3d0c-4a39-8a3f-1c2d3e4f5a6b",
        "display_name": "Zoë «Ada» \u2603",
        "primary_email": "ada@example.com",
        "primary_email_verified": True,
        "selected_team_id": None,
        "signed_up_at_seconds": 1_700_000_000,
        "is_anonymous": False,
        "restricted_reason": None,
        "requires_totp_mfa": False,
        "now": now,
    }
    args.update(overrides)
    return SERVICE.sign_access_token(**args)


def _pyjwt(claims: dict[str, Any]) -> str:
    return pyjwt.encode(
        claims, KEY.private_key, algorithm="ES256", headers={"kid": KEY.kid, "typ": None}
    )


def _claims(now: int, **changes: Any) -> dict[str, Any]:
    claims = pyjwt.decode(_sign(now), options={"verify_signature": False})
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not ...}


def test_signed_token_is_byte_for_byte_what_pyjwt_makes_but_the_signature() -> None:
    now = int(time.time())
    ours = _sign(now)
    claims = pyjwt.decode(
        ours, KEY.public_key, algorithms=["ES256"], audience=PROJECT, issuer=ISSUER
    )
    theirs = _pyjwt(claims)
    # ECDSA signatures are randomised: header and payload segments must be identical.
    assert ours.rsplit(".", 1)[0] == theirs.rsplit(".", 1)[0]
    assert len(ours.rsplit(".", 1)[1]) == 86  # 64 raw bytes (r || s), base64url


def test_pyjwt_token_verifies_with_ours() -> None:
    now = int(time.time())
    verified = SERVICE.verify_access_token(_pyjwt(_claims(now)))
    assert verified.user_id == "0b3c3f0e-8a53-4c43-9a55-2f9e3f1b7c11"
    assert verified.expires_at == now + 600


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": ...},
        {"iat": None},
        {"sub": 42},
        {"iat": "soon"},
        {"exp": [1]},
        {"iss": "https://elsewhere.example.com"},
        {"iss": ["x"]},
        {"jti": 7},
    ],
)
def test_bad_registered_claims_are_invalid(changes: dict[str, Any]) -> None:
    # Signed by jws.sign: PyJWT refuses to make some of these.
    token = jws.sign(KEY.header, _claims(int(time.time()), **changes), KEY.jose_private)
    with pytest.raises(TokenInvalidError):
        SERVICE.verify_access_token(token)


def test_token_issued_or_valid_only_in_the_future_is_invalid() -> None:
    now = int(time.time())
    with pytest.raises(TokenInvalidError):
        SERVICE.verify_access_token(_pyjwt(_claims(now, iat=now + 60)))
    with pytest.raises(TokenInvalidError):
        SERVICE.verify_access_token(_pyjwt(_claims(now, nbf=now + 60)))
    assert SERVICE.verify_access_token(_pyjwt(_claims(now, nbf=now - 1)))


def test_expired_token_with_a_wrong_issuer_is_invalid_not_expired() -> None:
    old = int(time.time()) - 601
    with pytest.raises(TokenExpiredError):
        SERVICE.verify_access_token(_sign(old))
    with pytest.raises(TokenInvalidError):
        SERVICE.verify_access_token(_pyjwt(_claims(old, iss="https://elsewhere.example.com")))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t + "=",  # padding is not base64url
        lambda t: t.replace(".", ".+", 1),
        lambda t: t[:-1],  # a signature one character short
        lambda t: t.rsplit(".", 1)[0] + ".AAAA",  # 3 bytes, not 64
        lambda t: t + ".x",
        lambda t: t.split(".", 1)[1],
        lambda t: "e30." + t.split(".", 1)[1],  # header {} (no alg)
        lambda t: "W10." + t.split(".", 1)[1],  # header [] (not an object)
        lambda t: "!!!.???.***",
        lambda t: "",
    ],
)
def test_malformed_tokens_are_invalid(mangle: Any) -> None:
    with pytest.raises(TokenInvalidError):
        SERVICE.verify_access_token(mangle(_sign(int(time.time()))))


def test_hs256_token_under_the_same_kid_is_invalid() -> None:
    claims = _claims(int(time.time()))
    token = pyjwt.encode(claims, "k" * 32, algorithm="HS256", headers={"kid": KEY.kid})
    with pytest.raises(TokenInvalidError):
        SERVICE.verify_access_token(token)


@pytest.mark.parametrize("signature", ["", "AAAA", None])
def test_alg_none_token_under_the_same_kid_is_invalid(signature: str | None) -> None:
    header = jws.b64url(b'{"alg":"none","kid":"%s"}' % KEY.kid.encode())
    body = jws.b64url(json.dumps(_claims(int(time.time()))).encode())
    good_signature = _sign(int(time.time())).rsplit(".", 1)[1]
    token = f"{header}.{body}.{good_signature if signature is None else signature}"
    with pytest.raises(TokenInvalidError):
        SERVICE.verify_access_token(token)


def test_signature_of_another_token_is_invalid() -> None:
    now = int(time.time())
    head, _, signature = _sign(now).split(".")
    body = jws.b64url(json.dumps(_claims(now, sub="someone-else")).encode())
    with pytest.raises(TokenInvalidError):
        SERVICE.verify_access_token(f"{head}.{body}.{signature}")
