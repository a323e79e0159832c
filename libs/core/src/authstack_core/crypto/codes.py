"""Random secrets in the contract's formats, and the hashes they are stored under."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Crockford base32, lower case: the alphabet of refresh tokens and verification codes.
CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def random_code(length: int = 45) -> str:
    """A uniformly random lowercase Crockford base32 string (45 chars ≈ 225 bits)."""
    # 256 is a multiple of 32, so masking each byte keeps the distribution uniform.
    return "".join(CROCKFORD[b & 31] for b in secrets.token_bytes(length))


def new_refresh_token() -> str:
    return random_code(45)


def sha256_bytes(value: str) -> bytes:
    """The at-rest form of refresh tokens and project keys: only the hash is stored."""
    return hashlib.sha256(value.encode("utf-8")).digest()


def constant_time_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


def new_project_key(prefix: str) -> str:
    """A project key in the contract's format: pck_ / ssk_ / sak_ and 45 base32 characters."""
    return f"{prefix}_{random_code(45)}"
