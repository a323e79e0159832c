"""ES256 access tokens whose keys derive from STACK_SERVER_SECRET exactly as upstream derives them.

The same secret therefore yields the same ``kid``s and the same key pairs as a Stack Auth backend,
so tokens and JWKS are interchangeable with it.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

from authstack_core.crypto import jws
from authstack_core.crypto.jws import b64url, b64url_decode

__all__ = ["b64url", "b64url_decode"]  # re-exported: callers import them from here

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
# The claims every access token must carry (non-null).
REQUIRED_CLAIMS = ("exp", "iat", "sub", "iss", "aud")


def _sha256_b64url(value: Any) -> str:
    # Compact JSON, non-ASCII kept as is: byte-for-byte what JavaScript's JSON.stringify produces.
    data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return b64url(hashlib.sha256(data).digest())


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    public_key: ec.EllipticCurvePublicKey
    header: dict[str, str]  # the JWS header of the tokens it signs
    # The two keys as joserfc objects, built once: signing and verifying go through joserfc.
    jose_private: ECKey
    jose_public: ECKey

    def public_jwk(self) -> dict[str, str]:
        numbers = self.public_key.public_numbers()
        # Zero-padded to 32 bytes as RFC 7518 requires; upstream's elliptic output drops leading
        # zero bytes, which differs for about 1 key in 128 but names the same point.
        return {
            "kty": "EC",
            "alg": "ES256",
            "crv": "P-256",
            "kid": self.kid,
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }


def _key_from_derived_secret(derived_secret: str, kid: str) -> SigningKey:
    scalar = int.from_bytes(hashlib.sha256(b64url_decode(derived_secret)).digest(), "big")
    # elliptic reduces the scalar modulo the curve order; a 0 is astronomically unlikely.
    private_key = ec.derive_private_key(scalar % P256_ORDER, ec.SECP256R1())
    return SigningKey(
        kid=kid,
        private_key=private_key,
        public_key=private_key.public_key(),
        header=jws.signing_header(kid),
        jose_private=jws.jose_key(private_key),
        jose_public=jws.jose_key(private_key.public_key()),
    )


def derive_keys(server_secret: str, audience: str) -> tuple[SigningKey, SigningKey]:
    """Return (legacy, new) keys for an audience; the legacy one signs, both verify."""
    legacy_secret = _sha256_b64url([server_secret, audience])
    legacy_kid = _sha256_b64url([legacy_secret, "kid"])[:12]
    new_secret = _sha256_b64url(
        ["stack-jwk-audience-secret", server_secret, {"audience": audience}]
    )
    new_kid = _sha256_b64url(["stack-jwk-kid", server_secret, {"audience": audience}])[:12]
    return (
        _key_from_derived_secret(legacy_secret, legacy_kid),
        _key_from_derived_secret(new_secret, new_kid),
    )


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    """The verified payload of an access token, as the API uses it."""

    user_id: str
    project_id: str
    branch_id: str
    refresh_token_id: str | None
    is_anonymous: bool
    is_restricted: bool
    restricted_reason: dict[str, str] | None
    issued_at: int
    expires_at: int
    # The session was started by an administrator acting as the user (``is_impersonation``).
    is_impersonation: bool = False


class TokenExpiredError(Exception):
    """Signature fine but past ``exp``; carries the claims for the error details."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__("token expired")
        self.payload = payload


class TokenInvalidError(Exception):
    """The token is malformed, forged, or issued by someone else."""


class TokenService:
    """Signs and verifies access tokens for every project with keys derived from one secret."""

    def __init__(self, server_secret: str, api_url: str, lifetime_seconds: int) -> None:
        self._secret = server_secret
        self._api_url = api_url.rstrip("/")
        self.lifetime_seconds = lifetime_seconds
        self._keys: dict[str, tuple[SigningKey, SigningKey]] = {}

    def keys_for(self, audience: str) -> tuple[SigningKey, SigningKey]:
        keys = self._keys.get(audience)
        if keys is None:
            if len(self._keys) > 10_000:  # bound memory against audiences from forged tokens
                self._keys.clear()
            keys = self._keys[audience] = derive_keys(self._secret, audience)
        return keys

    def jwks(
        self, project_id: str, *, include_restricted: bool, include_anonymous: bool
    ) -> dict[str, list[dict[str, str]]]:
        audiences = [project_id]
        if include_restricted or include_anonymous:
            audiences.append(f"{project_id}:restricted")
        if include_anonymous:
            audiences.append(f"{project_id}:anon")
        return {"keys": [k.public_jwk() for aud in audiences for k in self.keys_for(aud)]}

    def issuer_and_audience(
        self, project_id: str, *, is_anonymous: bool, is_restricted: bool
    ) -> tuple[str, str]:
        if is_anonymous:
            return (
                f"{self._api_url}/api/v1/projects-anonymous-users/{project_id}",
                f"{project_id}:anon",
            )
        if is_restricted:
            return (
                f"{self._api_url}/api/v1/projects-restricted-users/{project_id}",
                f"{project_id}:restricted",
            )
        return f"{self._api_url}/api/v1/projects/{project_id}", project_id

    def sign_access_token(
        self,
        *,
        project_id: str,
        branch_id: str,
        user_id: str,
        refresh_token_id: str,
        display_name: str | None,
        primary_email: str | None,
        primary_email_verified: bool,
        selected_team_id: str | None,
        signed_up_at_seconds: int,
        is_anonymous: bool,
        restricted_reason: dict[str, str] | None,
        requires_totp_mfa: bool,
        is_impersonation: bool = False,
        now: int | None = None,
    ) -> str:
        """Sign a token with exactly the claims the SDK requires, and no others but
        ``is_impersonation: true`` on an impersonation session's tokens (ours: Stack Auth marks
        none; the SDK's payload schema lets unknown claims through). Other tokens go without it,
        so they do not grow."""
        is_restricted = restricted_reason is not None
        issuer, audience = self.issuer_and_audience(
            project_id, is_anonymous=is_anonymous, is_restricted=is_restricted
        )
        issued_at = int(time.time()) if now is None else now
        payload = {
            "sub": user_id,
            "branch_id": branch_id,
            "refresh_token_id": refresh_token_id,
            "role": "authenticated",
            "name": display_name,
            "email": primary_email,
            "email_verified": primary_email_verified,
            "selected_team_id": selected_team_id,
            "is_anonymous": is_anonymous,
            "is_restricted": is_restricted,
            "restricted_reason": restricted_reason,
            "requires_totp_mfa": requires_totp_mfa,
            "signed_up_at": signed_up_at_seconds,
            "project_id": project_id,
            "iss": issuer,
            "iat": issued_at,
            "aud": audience,
            "exp": issued_at + self.lifetime_seconds,
        }
        if is_impersonation:
            payload["is_impersonation"] = True
        key = self.keys_for(audience)[0]
        return jws.sign(key.header, payload, key.jose_private)

    def verify_access_token(self, token: str) -> AccessTokenClaims:
        """Verify signature, issuer and audience; raise TokenExpiredError or TokenInvalidError."""
        try:
            compact = jws.parse(token)
        except jws.JwsError as exc:
            raise TokenInvalidError(str(exc)) from None
        header, payload = compact.header, compact.claims
        audience = payload.get("aud")
        project_id = payload.get("project_id")
        if not isinstance(audience, str) or not isinstance(project_id, str):
            raise TokenInvalidError("token has no audience or project")
        if header.get("alg") != "ES256":
            raise TokenInvalidError("unexpected algorithm")
        expected_audiences = {project_id, f"{project_id}:restricted", f"{project_id}:anon"}
        if audience not in expected_audiences:
            raise TokenInvalidError("audience does not match the project")
        key = next((k for k in self.keys_for(audience) if k.kid == header.get("kid")), None)
        if key is None:
            raise TokenInvalidError("unknown key id")
        try:
            jws.verify(compact, key.jose_public)
        except jws.JwsError as exc:
            raise TokenInvalidError(str(exc)) from None
        issuers = [
            self.issuer_and_audience(project_id, is_anonymous=a, is_restricted=r)[0]
            for a, r in ((False, False), (False, True), (True, True))
        ]
        _check_claims(payload, issuers)
        if payload.get("branch_id") != "main" or not isinstance(payload.get("sub"), str):
            raise TokenInvalidError("unsupported branch or subject")
        is_anonymous = bool(payload.get("is_anonymous"))
        reason = payload.get("restricted_reason")
        return AccessTokenClaims(
            user_id=payload["sub"],
            project_id=project_id,
            branch_id=payload["branch_id"],
            refresh_token_id=payload.get("refresh_token_id"),
            is_anonymous=is_anonymous,
            is_restricted=bool(payload.get("is_restricted")) or is_anonymous,
            restricted_reason=reason if isinstance(reason, dict) else None,
            issued_at=int(payload["iat"]),
            expires_at=int(payload["exp"]),
            is_impersonation=payload.get("is_impersonation") is True,
        )


def _int_claim(payload: dict[str, Any], name: str) -> int:
    try:
        return int(payload[name])
    except (ValueError, TypeError, OverflowError):
        raise TokenInvalidError(f"{name} must be an integer") from None


def _check_claims(payload: dict[str, Any], issuers: list[str]) -> None:
    """The registered claims of a verified token (its ``aud`` is already known to be a string
    naming its project): required ones present, not issued or valid only in the future, issued
    by one of ``issuers``; TokenExpiredError when it is past ``exp`` but otherwise valid."""
    for claim in REQUIRED_CLAIMS:
        if payload.get(claim) is None:
            raise TokenInvalidError(f"token has no {claim}")
    now = time.time()
    if _int_claim(payload, "iat") > now:
        raise TokenInvalidError("token issued in the future")
    if "nbf" in payload and _int_claim(payload, "nbf") > now:
        raise TokenInvalidError("token not yet valid")
    expired = _int_claim(payload, "exp") <= now
    if payload["iss"] not in issuers:
        raise TokenInvalidError("unexpected issuer")
    if not isinstance(payload["sub"], str):
        raise TokenInvalidError("subject must be a string")
    if "jti" in payload and not isinstance(payload["jti"], str):
        raise TokenInvalidError("jti must be a string")
    if expired:
        raise TokenExpiredError(payload)
