"""Authenticated encryption of data at rest under keys derived from STACK_SERVER_SECRET."""

from __future__ import annotations

import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


class SealError(Exception):
    """The sealed value was not made with this key and context (or was altered)."""


class Sealer:
    """AES-256-GCM with a key derived (HKDF-SHA256) from the server secret and a purpose.

    Each sealed value is bound to a context (e.g. the row id it belongs to), so a value copied
    to another row does not open there.
    """

    def __init__(self, server_secret: str, purpose: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"authstack-sealing-v1",
            info=purpose.encode("utf-8"),
        ).derive(server_secret.encode("utf-8"))
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """The plaintext; raise SealError if the key, context or bytes do not match."""
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], context)
        except (InvalidTag, ValueError):
            raise SealError("sealed value does not open with this key and context") from None


@functools.cache
def sealer_for(server_secret: str, purpose: str) -> Sealer:
    """A cached Sealer (key derivation runs once per secret and purpose)."""
    return Sealer(server_secret, purpose)
