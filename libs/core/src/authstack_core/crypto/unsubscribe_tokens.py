"""Signed unsubscribe tokens: HMAC-SHA256 under a key derived from STACK_SERVER_SECRET.

A token names the tenancy, the user, the notification category, the link's own id (the outbox
row it was sent in, which makes each mail's link distinct and lets a used one be recorded) and
when it expires. Nothing is stored when a mail is sent; the signature is checked in constant time,
and a token that was altered in any byte, or made with another secret, is refused.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from authstack_core.crypto.tokens import b64url, b64url_decode

_VERSION = 1
# version, tenancy id, user id, category id, link id, expiry (Unix seconds)
_LAYOUT = struct.Struct(">B16s16s16s16sQ")
_MAC_BYTES = 32
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,400}")


class UnsubscribeTokenInvalid(Exception):  # noqa: N818 (names what the caller refuses)
    """Not a token of ours: malformed, altered, or signed with another secret."""


class UnsubscribeTokenExpired(Exception):  # noqa: N818
    """A genuine token whose time is over."""


@dataclass(frozen=True, slots=True)
class UnsubscribeClaims:
    tenancy_id: uuid.UUID
    user_id: uuid.UUID
    category_id: uuid.UUID
    link_id: uuid.UUID
    expires_at: datetime


@functools.cache
def _key(server_secret: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"authstack-signed-links-v1",
        info=b"email-unsubscribe",
    ).derive(server_secret.encode("utf-8"))


def _mac(server_secret: str, payload: bytes) -> bytes:
    return hmac.new(_key(server_secret), payload, hashlib.sha256).digest()


def sign_unsubscribe_token(server_secret: str, claims: UnsubscribeClaims) -> str:
    """The URL-safe token for ``claims`` (about 140 characters)."""
    payload = _LAYOUT.pack(
        _VERSION,
        claims.tenancy_id.bytes,
        claims.user_id.bytes,
        claims.category_id.bytes,
        claims.link_id.bytes,
        int(claims.expires_at.timestamp()),
    )
    return b64url(payload + _mac(server_secret, payload))


def read_unsubscribe_token(
    server_secret: str, token: str, *, now: datetime | None = None
) -> UnsubscribeClaims:
    """The claims of a genuine, unexpired token; raise UnsubscribeTokenInvalid or
    UnsubscribeTokenExpired."""
    if not _TOKEN.fullmatch(token):
        raise UnsubscribeTokenInvalid()
    raw = b64url_decode(token)
    # Only the one spelling we issue: no padding variants, no stray bits in the last character.
    if len(raw) != _LAYOUT.size + _MAC_BYTES or b64url(raw) != token:
        raise UnsubscribeTokenInvalid()
    payload, mac = raw[: _LAYOUT.size], raw[_LAYOUT.size :]
    if not hmac.compare_digest(mac, _mac(server_secret, payload)):
        raise UnsubscribeTokenInvalid()
    version, tenancy, user, category, link, expires = _LAYOUT.unpack(payload)
    if version != _VERSION:
        raise UnsubscribeTokenInvalid()
    claims = UnsubscribeClaims(
        tenancy_id=uuid.UUID(bytes=tenancy),
        user_id=uuid.UUID(bytes=user),
        category_id=uuid.UUID(bytes=category),
        link_id=uuid.UUID(bytes=link),
        expires_at=datetime.fromtimestamp(expires, UTC),
    )
    if claims.expires_at <= (now or datetime.now(UTC)):
        raise UnsubscribeTokenExpired()
    return claims
