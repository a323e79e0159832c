"""The contract's key-derivation formulas (§3), written out independently of the code under test.

Used by the JWKS tests to check that kids and public keys are the ones upstream derives from the
same STACK_SERVER_SECRET. Only hashlib/json/base64 and the bare P-256 arithmetic of
``cryptography`` are used here.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def stringify(value: Any) -> bytes:
    """JavaScript's compact JSON.stringify."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256_b64url(value: Any) -> str:
    return b64url(hashlib.sha256(stringify(value)).digest())


def legacy_secret(server_secret: str, audience: str) -> str:
    return sha256_b64url([server_secret, audience])


def legacy_kid(server_secret: str, audience: str) -> str:
    return sha256_b64url([legacy_secret(server_secret, audience), "kid"])[:12]


def new_secret(server_secret: str, audience: str) -> str:
    return sha256_b64url(["stack-jwk-audience-secret", server_secret, {"audience": audience}])


def new_kid(server_secret: str, audience: str) -> str:
    return sha256_b64url(["stack-jwk-kid", server_secret, {"audience": audience}])[:12]


def private_scalar(derived_secret: str) -> int:
    raw = base64.urlsafe_b64decode(derived_secret + "=" * (-len(derived_secret) % 4))
    return int.from_bytes(hashlib.sha256(raw).digest(), "big") % P256_N


def public_xy(derived_secret: str) -> tuple[str, str]:
    """The JWK x and y (zero-padded to 32 bytes) of the key for a derived secret."""
    point = (
        ec.derive_private_key(private_scalar(derived_secret), ec.SECP256R1())
        .public_key()
        .public_numbers()
    )
    return b64url(point.x.to_bytes(32, "big")), b64url(point.y.to_bytes(32, "big"))


def expected_jwks(server_secret: str, audience: str) -> list[dict[str, str]]:
    """The two public JWKs (legacy first) the contract says an audience has."""
    out = []
    for secret, kid in (
        (legacy_secret(server_secret, audience), legacy_kid(server_secret, audience)),
        (new_secret(server_secret, audience), new_kid(server_secret, audience)),
    ):
        x, y = public_xy(secret)
        out.append({"kty": "EC", "alg": "ES256", "crv": "P-256", "kid": kid, "x": x, "y": y})
    return out
