"""A connected account's tokens at its provider (authlib): whether a stored access token still
works there, and a new access token for a stored refresh token."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from authlib.common.errors import AuthlibBaseError

from authstack_core.errors import (
    OAuthProviderTokenRejected,
    OAuthProviderUnavailable,
)
from authstack_core.models.oauth import ProviderTokens
from authstack_core.oauth.client import OAuthApp, provider_errors, tokens_of
from authstack_core.oauth.providers import ProfileSource

# Requests made outside a sign-in have no callback to name.
_NO_REDIRECT = ""


async def is_live(app: OAuthApp, access_token: str) -> bool:
    """Whether the provider still takes ``access_token`` (some, GitHub first, revoke tokens long
    before they expire): the profile reads with it. Only a 401 says no; a provider that cannot be
    asked (Apple has no profile API) or does not answer leaves the token to its stored expiry.
    """
    with provider_errors():
        async with app.client(_NO_REDIRECT) as client:
            source = ProfileSource(client, access_token, None, app.userinfo_url, app.client_id)
            try:
                await app.spec.read_profile(source)
            except OAuthProviderTokenRejected:
                return False
            except OAuthProviderUnavailable:
                return True
    return True


async def refresh(
    app: OAuthApp, refresh_token: str, *, scope: str | None, granted: Sequence[str]
) -> ProviderTokens | None:
    """A new access token (and a new refresh token when the provider rotates them) for
    ``refresh_token``, narrowed to ``scope`` when given; None when the provider refuses the
    refresh token (revoked, expired, consent withdrawn). The new token's scopes are those the
    provider names, else ``scope``, else the refresh token's (``granted``).

    Raise the provider errors (``provider_errors``) when it cannot be reached or makes no sense.
    """
    extra = {"scope": scope} if scope else {}
    with provider_errors():
        async with app.client(_NO_REDIRECT) as client:
            try:
                token = await client.refresh_token(
                    app.token_url, refresh_token=refresh_token, **extra
                )
            except AuthlibBaseError:
                return None
    if not isinstance(token.get("access_token"), str):
        raise OAuthProviderUnavailable()
    tokens = tokens_of(app, token, scope or " ".join(granted))
    if tokens.refresh_token == refresh_token:  # authlib fills in the one sent when none came
        tokens = replace(tokens, refresh_token=None)
    return tokens
