"""Verify access tokens locally: ES256 against the project's cached JWKS, then issuer, audience
and expiry. No network call per request."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jws
from joserfc.errors import ExpiredTokenError as JoseExpiredTokenError
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.jwt import JWTClaimsRegistry

from authstack_sdk.claims import AccessTokenClaims, claims_from_payload
from authstack_sdk.jwks import JwksCache
from authstack_sdk.token_errors import (
    AnonymousTokenError,
    ExpiredTokenError,
    InvalidTokenError,
    RestrictedTokenError,
    WrongProjectTokenError,
)

# The only algorithm Stack Auth signs access tokens with. Pinned: `none`, HS256 (with the public
# key as an HMAC secret) and every other algorithm are refused before any key is touched.
ALGORITHM = "ES256"
# Longer than any real token (about 1 KB); refused before parsing.
MAX_TOKEN_LENGTH = 16_384


@dataclass(frozen=True, slots=True)
class _Parsed:
    token: jws.CompactSignature
    kid: str
    payload: dict[str, Any]


class AccessTokenVerifier:
    """Verifies a project's access tokens with keys fetched once from its JWKS.

    ``base_url`` is where the API answers (``https://api.example.com``); the JWKS is read from
    ``{base_url}/api/v1/projects/{project_id}/.well-known/jwks.json``. Tokens name their issuer
    from the server's public URL (``NEXT_PUBLIC_STACK_API_URL``): pass ``issuer_base_url`` when
    that differs from ``base_url`` (e.g. the API reached over an internal address).

    Anonymous and restricted users (e.g. email not verified) are refused unless allowed here or
    per call; allowing anonymous users also allows restricted ones, as the API does. ``leeway``
    (seconds) absorbs clock skew on ``exp`` and ``iat``. The verifier is safe to share between
    threads and asyncio tasks: make one per project at start-up.
    """

    def __init__(
        self,
        base_url: str,
        project_id: str,
        *,
        allow_anonymous: bool = False,
        allow_restricted: bool = False,
        leeway: int = 5,
        issuer_base_url: str | None = None,
        min_refresh_interval: float = 10.0,
        max_key_age: float = 3600.0,
        timeout: float = 10.0,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
    ) -> None:
        base = base_url.rstrip("/")
        issuer_base = (issuer_base_url or base).rstrip("/")
        self.project_id = project_id
        self.allow_anonymous = allow_anonymous
        self.allow_restricted = allow_restricted
        self.jwks = JwksCache(
            f"{base}/api/v1/projects/{project_id}/.well-known/jwks.json",
            # Keys of all three audiences, so that an anonymous token is recognised as one (and
            # refused as such) rather than as an unknown key.
            params={"include_anonymous": "true"},
            min_refresh_interval=min_refresh_interval,
            max_age=max_key_age,
            timeout=timeout,
            http_client=http_client,
            async_http_client=async_http_client,
        )
        self._registry = jws.JWSRegistry(algorithms=[ALGORITHM])
        # Each audience has exactly one issuer; checking the pair also checks the user type.
        issuers = {
            project_id: f"{issuer_base}/api/v1/projects/{project_id}",
            f"{project_id}:restricted": (
                f"{issuer_base}/api/v1/projects-restricted-users/{project_id}"
            ),
            f"{project_id}:anon": f"{issuer_base}/api/v1/projects-anonymous-users/{project_id}",
        }
        self._claims_registries = {
            audience: JWTClaimsRegistry(
                leeway=leeway,
                iss={"essential": True, "value": issuer},
                aud={"essential": True, "value": audience},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
            )
            for audience, issuer in issuers.items()
        }

    def verify_access_token(
        self,
        token: str,
        *,
        allow_anonymous: bool | None = None,
        allow_restricted: bool | None = None,
    ) -> AccessTokenClaims:
        """The token's claims if it is a valid access token of this project. Fetches the JWKS on
        first use and on an unknown key id (blocking); otherwise no I/O.

        Raises InvalidTokenError, ExpiredTokenError, WrongProjectTokenError, AnonymousTokenError,
        RestrictedTokenError (all TokenVerificationError), or JwksUnavailableError.
        """
        parsed = self._parse(token)
        key = self.jwks.get_key(parsed.kid)
        return self._check(parsed, key, allow_anonymous, allow_restricted)

    async def verify_access_token_async(
        self,
        token: str,
        *,
        allow_anonymous: bool | None = None,
        allow_restricted: bool | None = None,
    ) -> AccessTokenClaims:
        """As verify_access_token; a JWKS fetch, when one is needed, does not block the loop."""
        parsed = self._parse(token)
        key = await self.jwks.get_key_async(parsed.kid)
        return self._check(parsed, key, allow_anonymous, allow_restricted)

    def _parse(self, token: str) -> _Parsed:
        """Split and decode without trusting anything yet; refuse other projects' tokens here so
        that they never cause a JWKS refresh."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidTokenError("not an access token")
        try:
            compact = jws.extract_compact(token.encode("ascii"), registry=self._registry)
            payload = json.loads(compact.payload)
        except (JoseError, ValueError, UnicodeError):
            raise InvalidTokenError("the access token is malformed") from None
        header = compact.headers()
        if header.get("alg") != ALGORITHM or "crit" in header:
            raise InvalidTokenError(f"the access token must be a plain {ALGORITHM} JWS")
        kid = header.get("kid")
        if not isinstance(kid, str) or not isinstance(payload, dict):
            raise InvalidTokenError("the access token is malformed")
        audience = payload.get("aud")
        if not isinstance(audience, str) or audience not in self._claims_registries:
            claimed = payload.get("project_id")
            if isinstance(claimed, str) and claimed != self.project_id:
                raise WrongProjectTokenError(
                    "the access token belongs to another project",
                    expected_project_id=self.project_id,
                    actual_project_id=claimed,
                )
            raise InvalidTokenError("the access token's audience is not this project")
        return _Parsed(compact, kid, payload)

    def _check(
        self,
        parsed: _Parsed,
        key: ECKey,
        allow_anonymous: bool | None,
        allow_restricted: bool | None,
    ) -> AccessTokenClaims:
        try:
            valid = jws.validate_compact(parsed.token, key, registry=self._registry)
        except JoseError:
            valid = False
        if not valid:
            raise InvalidTokenError("the access token's signature is not valid")
        payload = parsed.payload
        audience = payload["aud"]
        try:
            self._claims_registries[audience].validate(payload)
        except JoseExpiredTokenError:
            raise ExpiredTokenError(
                "the access token has expired", expired_at=int(payload["exp"])
            ) from None
        except JoseError as exc:
            raise InvalidTokenError(f"the access token was refused: {exc}") from None
        if payload.get("project_id") != self.project_id or payload.get("branch_id") != "main":
            raise InvalidTokenError("the access token names another project or branch")
        claims = claims_from_payload(payload)
        expected_audience = self.project_id
        if claims.is_anonymous:
            expected_audience += ":anon"
        elif claims.is_restricted:
            expected_audience += ":restricted"
        if audience != expected_audience:
            raise InvalidTokenError("the access token's audience does not match its user type")
        anonymous_ok = self.allow_anonymous if allow_anonymous is None else allow_anonymous
        restricted_ok = self.allow_restricted if allow_restricted is None else allow_restricted
        if claims.is_anonymous and not anonymous_ok:
            raise AnonymousTokenError("anonymous users are not allowed here")
        if claims.is_restricted and not (restricted_ok or anonymous_ok):
            raise RestrictedTokenError(
                "restricted users are not allowed here",
                restricted_reason=claims.restricted_reason,
            )
        return claims


def verifier_from_mapping(settings: Mapping[str, Any]) -> AccessTokenVerifier:
    """A verifier from a settings mapping with ``base_url`` and ``project_id`` (and optionally
    any other keyword of AccessTokenVerifier): how the framework integrations read their config."""
    options = dict(settings)
    return AccessTokenVerifier(options.pop("base_url"), options.pop("project_id"), **options)
