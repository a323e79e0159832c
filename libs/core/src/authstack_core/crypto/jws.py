"""Compact ES256 JWS for access tokens: sign, read, verify (claims are tokens.py's business).

The signature work goes through joserfc with the algorithm pinned to ES256. PyJWT is not used
on this path because every refresh signs a token and every user request verifies one, and
PyJWT's decode checks each base64 character of a token in a Python generator (about 90 µs
per verify, more than the ECDSA verification itself); joserfc verifies in about half the time.
A token is split and decoded once (``parse``); ``verify`` hands joserfc's ES256 algorithm the
signing input and signature from that, rather than having joserfc split and decode it again.
Our header is ``{"alg":"ES256","kid":...}``, as PyJWT's ``jwt.encode(..., headers={"kid": kid,
"typ": None})`` wrote it; the tests check both directions against PyJWT.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jws import JWSRegistry

# Three base64url segments (no padding), as RFC 7515's compact serialisation has them.
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_ALGORITHMS = ["ES256"]
_ES256 = JWSRegistry(algorithms=_ALGORITHMS).get_alg("ES256")


class JwsError(Exception):
    """Not a well-formed compact JWS, or its signature does not verify."""


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jose_key(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> ECKey:
    """``key`` as joserfc's key object (built once per signing key, not per token)."""
    return ECKey.import_key(key)


def signing_header(kid: str) -> dict[str, str]:
    """The protected header of an ES256 token signed by key ``kid``."""
    return {"alg": "ES256", "kid": kid}


def sign(header: dict[str, str], payload: dict[str, Any], key: ECKey) -> str:
    """``payload`` as a compact JWS under ``header`` (from ``signing_header``), signed by
    ``key``. JSON as PyJWT wrote it: compact separators, non-ASCII escaped."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return jws.serialize_compact(header, body, key, algorithms=_ALGORITHMS)


class Compact(NamedTuple):
    """A compact JWS split and decoded, not yet verified."""

    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes  # the first two segments as sent, joined by "."
    signature: bytes


def parse(token: str) -> Compact:
    """The parts of a compact JWS, *unverified* (to choose the key); JwsError if malformed."""
    if not _COMPACT.fullmatch(token):
        raise JwsError("malformed token")
    head, payload, signature = token.split(".")
    try:
        header = json.loads(b64url_decode(head))
        claims = json.loads(b64url_decode(payload))
        raw_signature = b64url_decode(signature)
    except (ValueError, UnicodeDecodeError, RecursionError):  # binascii.Error is a ValueError
        raise JwsError("malformed token") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwsError("malformed token")
    signing_input = token[: len(head) + 1 + len(payload)].encode("ascii")
    return Compact(header, claims, signing_input, raw_signature)


def verify(token: Compact, key: ECKey) -> None:
    """Check the signature of a token ``parse`` returned: ES256 under ``key``, whatever its
    header names (the caller refuses any other ``alg``, ``none`` included); JwsError if wrong."""
    try:
        valid = _ES256.verify(token.signing_input, token.signature, key)
    except (JoseError, ValueError) as exc:
        raise JwsError(f"signature verification failed: {exc}") from None
    if not valid:
        raise JwsError("signature verification failed")
