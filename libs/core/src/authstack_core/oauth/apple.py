"""Native Sign in with Apple: the ID token an iOS or macOS app got from Apple itself
(ASAuthorizationController), checked against Apple's key set and the project's bundle ids.

The key set is fetched through the same public-only transport as a project's own issuer; only
tests point ``STACK_APPLE_JWKS_URL`` away from Apple (at a loopback key set, which the operator's
STACK_OUTBOUND_ALLOW_PRIVATE_NETWORKS must then allow).
"""

from __future__ import annotations

from collections.abc import Sequence

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError

from authstack_core.errors import InvalidAppleCredentials
from authstack_core.models.oauth import ProviderProfile
from authstack_core.oauth.client import LEEWAY_SECONDS, fetch_key_set
from authstack_core.oauth.providers import profile
from authstack_core.settings import Settings

APPLE_ISSUER = "https://appleid.apple.com"
# Far above any ID token Apple signs; a longer text is refused before it is parsed.
MAX_ID_TOKEN_LENGTH = 16_384


async def verify_id_token(
    settings: Settings, id_token: str, bundle_ids: Sequence[str]
) -> ProviderProfile:
    """Who an Apple ID token says signed in: its subject, and its email (verified as Apple says).

    Raise INVALID_APPLE_CREDENTIALS unless the token is signed by a key of Apple's set, issued by
    Apple, for one of ``bundle_ids`` and not expired; the provider errors when the key set cannot
    be fetched.
    """
    if len(id_token) > MAX_ID_TOKEN_LENGTH:
        raise InvalidAppleCredentials()
    url, allow_private = settings.apple_jwks_url, settings.outbound_allow_private_networks
    keys = await fetch_key_set(url, allow_private=allow_private)
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": APPLE_ISSUER},
        aud={"essential": True, "values": list(bundle_ids)},
        sub={"essential": True},
        exp={"essential": True},
    )
    try:
        try:
            decoded = jwt.decode(id_token, keys, algorithms=["RS256"])
        except InvalidKeyIdError:  # Apple rotated its keys since they were fetched
            keys = await fetch_key_set(url, allow_private=allow_private, fresh=True)
            decoded = jwt.decode(id_token, keys, algorithms=["RS256"])
        registry.validate(decoded.claims)
    except (JoseError, ValueError, TypeError):
        raise InvalidAppleCredentials() from None
    claims = decoded.claims
    return profile(claims["sub"], claims.get("email"), claims.get("email_verified"))
