"""TOTP secrets are sealed at rest (AES-GCM under STACK_SERVER_SECRET, bound to the user's row).

A database dump alone then yields no second factor. The stored value is ``sealed:v1:`` followed by
the sealed bytes; a secret stored before sealing (raw bytes) still verifies and is sealed on its
next successful MFA sign-in (``mfa.sign_in``).

A secret that does not open (the server secret changed, or the bytes were copied from another
user's row) verifies nothing: its user cannot pass MFA until an admin or the user resets TOTP.
"""

from __future__ import annotations

import uuid

import structlog

from authstack_core.crypto.sealing import SealError, sealer_for
from authstack_core.settings import Settings

SEALED_PREFIX = b"sealed:v1:"
_PURPOSE = "totp-secret"

log = structlog.get_logger(__name__)


def _context(tenancy_id: uuid.UUID, user_id: str | uuid.UUID) -> bytes:
    return f"totp:{tenancy_id}:{user_id}".encode()


def is_sealed(stored: bytes) -> bool:
    return stored.startswith(SEALED_PREFIX)


def seal(settings: Settings, tenancy_id: uuid.UUID, user_id: str | uuid.UUID, raw: bytes) -> bytes:
    """What to store for the user's raw secret ``raw``."""
    sealer = sealer_for(settings.server_secret, _PURPOSE)
    return SEALED_PREFIX + sealer.seal(raw, _context(tenancy_id, user_id))


def open_stored(
    settings: Settings, tenancy_id: uuid.UUID, user_id: str | uuid.UUID, stored: bytes
) -> bytes | None:
    """The raw secret of a stored value (a raw legacy value as is); None if it does not open."""
    if not is_sealed(stored):
        return stored
    sealer = sealer_for(settings.server_secret, _PURPOSE)
    try:
        return sealer.open(stored[len(SEALED_PREFIX) :], _context(tenancy_id, user_id))
    except SealError:
        # The user id is not secret; the secret and the sealed bytes are never logged (and
        # neither is a traceback: there is nothing in it to help).
        log.warning("a stored TOTP secret does not open", user_id=str(user_id))
        return None
