"""Compact ES256 JWS: sign and verify, nothing else (claims are tokens.py's business).

Written here rather than through PyJWT because every refresh signs a token and every user
request verifies one: PyJWT checks each base64 character of a token in a Python generator
(about 90 µs per verify, more than the ECDSA verification itself) and builds its header on
every call. The output is byte for byte what ``jwt.encode(payload, key, "ES256",
headers={"kid": kid, "typ": None})`` produces; the tests check both directions against PyJWT.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

# Three base64url segments (no padding), as RFC 7515's compact serialisation has them.
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_ES256 = ec.ECDSA(hashes.SHA256())
_P256_BYTES = 32


class JwsError(Exception):
    """Not a well-formed compact JWS, or its signature does not verify."""


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value: Any) -> bytes:
    # PyJWT's serialisation: compact separators, non-ASCII escaped (json's default).
    return json.dumps(value, separators=(",", ":")).encode()


def signing_header(kid: str) -> str:
    """The encoded protected header of an ES256 token signed by key ``kid`` (keys sorted)."""
    return b64url(_json({"alg": "ES256", "kid": kid}))


def sign(header: str, payload: dict[str, Any], key: ec.EllipticCurvePrivateKey) -> str:
    """``header`` (from ``signing_header``) + ``payload`` as a compact JWS signed with ``key``."""
    signing_input = f"{header}.{b64url(_json(payload))}"
    r, s = decode_dss_signature(key.sign(signing_input.encode("ascii"), _ES256))
    signature = r.to_bytes(_P256_BYTES, "big") + s.to_bytes(_P256_BYTES, "big")
    return f"{signing_input}.{b64url(signature)}"


def parse(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and payload of a compact JWS, unverified; JwsError if malformed."""
    if not _COMPACT.fullmatch(token):
        raise JwsError("malformed token")
    head, payload, _ = token.split(".")
    try:
        header = json.loads(b64url_decode(head))
        claims = json.loads(b64url_decode(payload))
    except (ValueError, UnicodeDecodeError, RecursionError):  # binascii.Error is a ValueError
        raise JwsError("malformed token") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwsError("malformed token")
    return header, claims


def verify(token: str, key: ec.EllipticCurvePublicKey) -> None:
    """Check the ES256 signature of a compact JWS that ``parse`` accepted; JwsError if wrong."""
    signing_input, _, encoded = token.rpartition(".")
    try:
        signature = b64url_decode(encoded)
    except binascii.Error:
        raise JwsError("malformed signature") from None
    if len(signature) != 2 * _P256_BYTES:
        raise JwsError("signature verification failed")
    der = encode_dss_signature(
        int.from_bytes(signature[:_P256_BYTES], "big"),
        int.from_bytes(signature[_P256_BYTES:], "big"),
    )
    try:
        key.verify(der, signing_input.encode("ascii"), _ES256)
    except InvalidSignature:
        raise JwsError("signature verification failed") from None
