"""Passkey (WebAuthn) records (contract §6 PasskeyAuthMethod)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StoredPasskey:
    """What sign-in needs of a stored passkey: whose it is, its key and its counter."""

    user_id: str
    credential_id: str  # the raw credential id in unpadded base64url
    public_key: bytes  # COSE_Key, as the authenticator attested it
    counter: int
