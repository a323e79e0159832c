"""A software passkey authenticator for the tests, built from python-fido2's data structures.

It does what a browser and a platform authenticator do together: takes ``options_json`` as the
API sends it, puts the RP ID in place of the sentinel (as the SDK does, from the page's
hostname), and answers in the JSON form @simplewebauthn/browser posts. Every field can be bent
(origin, RP ID, counter, signing key) so that the tests can play an attacker.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2 import cose
from fido2.webauthn import (
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

SENTINEL_RP_ID = "THIS_VALUE_WILL_BE_REPLACED.example.com"
FLAGS = AuthenticatorData.FLAG


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftAuthenticator:
    """One discoverable ES256 credential; ``counter`` is its signature counter (0: keeps none,
    as many platform authenticators)."""

    counter: int = 1
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    user_handle: bytes | None = None

    def create(
        self, options_json: dict[str, Any], *, origin: str, rp_id: str | None = None
    ) -> dict[str, Any]:
        """navigator.credentials.create() on the page ``origin``: a RegistrationResponseJSON."""
        assert options_json["rp"]["id"] == SENTINEL_RP_ID
        assert options_json["authenticatorSelection"]["residentKey"] == "required"
        self.user_handle = unb64url(options_json["user"]["id"])
        client_data = CollectedClientData.create(
            type="webauthn.create", challenge=options_json["challenge"], origin=origin
        )
        credential = AttestedCredentialData.create(
            aaguid=bytes(16),
            credential_id=self.credential_id,
            public_key=cose.ES256.from_cryptography_key(self.key.public_key()),
        )
        auth_data = AuthenticatorData.create(
            rp_id_hash=_rp_hash(rp_id, origin),
            flags=FLAGS.UP | FLAGS.UV | FLAGS.AT,
            counter=self.counter,
            credential_data=credential,
        )
        attestation = AttestationObject.create("none", auth_data, {})
        return self._credential_json(
            {
                "clientDataJSON": b64url(bytes(client_data)),
                "attestationObject": b64url(bytes(attestation)),
                "transports": ["internal", "hybrid"],
            }
        )

    def get(
        self,
        options_json: dict[str, Any],
        *,
        origin: str,
        rp_id: str | None = None,
        counter: int | None = None,
        type: str = "webauthn.get",
    ) -> dict[str, Any]:
        """navigator.credentials.get() on the page ``origin``: an AuthenticationResponseJSON.

        The counter grows by one unless ``counter`` (or a counter of 0) says otherwise.
        """
        assert options_json["rpId"] == SENTINEL_RP_ID
        assert options_json["allowCredentials"] == []
        if counter is not None:
            self.counter = counter
        elif self.counter:
            self.counter += 1
        client_data = CollectedClientData.create(
            type=type, challenge=options_json["challenge"], origin=origin
        )
        auth_data = AuthenticatorData.create(
            rp_id_hash=_rp_hash(rp_id, origin), flags=FLAGS.UP | FLAGS.UV, counter=self.counter
        )
        signed = bytes(auth_data) + hashlib.sha256(bytes(client_data)).digest()
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return self._credential_json(
            {
                "clientDataJSON": b64url(bytes(client_data)),
                "authenticatorData": b64url(bytes(auth_data)),
                "signature": b64url(signature),
                "userHandle": b64url(self.user_handle) if self.user_handle else None,
            }
        )

    def _credential_json(self, response: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": response,
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }


def _rp_hash(rp_id: str | None, origin: str) -> bytes:
    """The RP ID the SDK would use: the page's hostname, unless a test names another."""
    hostname = rp_id if rp_id is not None else urlsplit(origin).hostname
    assert hostname
    return hashlib.sha256(hostname.encode()).digest()
