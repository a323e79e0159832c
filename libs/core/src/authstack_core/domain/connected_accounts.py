"""Connected accounts (contract §1.4): a user's linked accounts that grant API access, and an
access token to the provider's API for one of them.

The access token is the newest stored one that lives 5 more minutes, grants the scopes asked for
and that the provider still takes (``oauth.tokens.is_live``); otherwise a stored refresh token
granting those scopes gets a new one (authlib), kept sealed like the sign-in's. A token the
provider refuses is marked invalid and never tried again. No database connection is held while
the provider is asked.

Shared keys are the operator's OAuth apps: their tokens are not handed to projects (contract
§10), unless the operator allows it for development (STACK_ALLOW_SHARED_OAUTH_ACCESS_TOKENS).
"""

from __future__ import annotations

from authstack_core.crypto.sealing import SealError
from authstack_core.db.queries import oauth_accounts as q
from authstack_core.domain.context import Deps
from authstack_core.domain.oauth_accounts import store_token_in, token_context, token_sealer
from authstack_core.domain.teams import require_user_in
from authstack_core.errors import (
    OAuthAccessTokenNotAvailableWithSharedOAuthKeys,
    OAuthConnectionDoesNotHaveRequiredScope,
    OAuthConnectionNotConnectedToUser,
    OAuthProviderNotFoundOrNotEnabled,
)
from authstack_core.models.oauth import (
    OAuthAccountRow,
    ProviderTokens,
    StoredProviderToken,
    provider_config,
)
from authstack_core.models.projects import TenantProject
from authstack_core.oauth.client import resolve_app
from authstack_core.oauth.tokens import is_live, refresh


async def list_connected(deps: Deps, project: TenantProject, user_id: str) -> list[OAuthAccountRow]:
    """The user's accounts that grant API access, oldest first; USER_NOT_FOUND without the user."""
    async with deps.pool.connection() as conn:
        await require_user_in(conn, project, user_id)
        return await q.select_connected(conn, project.tenancy_id, user_id)


def _opened(deps: Deps, project: TenantProject, token: StoredProviderToken) -> str | None:
    """The token in the clear; None for one that does not open (the server secret changed)."""
    try:
        plain = token_sealer(deps.settings).open(
            token.token_sealed, token_context(project.tenancy_id, token.id)
        )
    except SealError:
        return None
    return plain.decode()


async def _invalidate(deps: Deps, project: TenantProject, token: StoredProviderToken) -> None:
    async with deps.pool.connection() as conn:
        await q.invalidate_token(conn, project.tenancy_id, token.id)


async def _store(
    deps: Deps, project: TenantProject, used: StoredProviderToken, refreshed: ProviderTokens
) -> None:
    """Keep the new access token; a new refresh token (the provider rotated it) replaces the one
    used, which then no longer works there."""
    args = (deps.settings, project.tenancy_id, used.oauth_account_id)
    async with deps.pool.connection() as conn, conn.transaction():
        await store_token_in(
            conn,
            *args,
            "access",
            refreshed.access_token,
            scopes=refreshed.scopes,
            expires_at=refreshed.access_token_expires_at,
        )
        if refreshed.refresh_token is not None:
            await q.invalidate_token(conn, project.tenancy_id, used.id)
            await store_token_in(
                conn, *args, "refresh", refreshed.refresh_token, scopes=used.scopes, expires_at=None
            )


async def access_token(
    deps: Deps,
    project: TenantProject,
    user_id: str,
    provider_id: str,
    *,
    provider_account_id: str | None,
    scope: str | None,
) -> str:
    """An access token to the provider's API for the user's connected account of
    ``provider_id`` (the one whose provider account id is ``provider_account_id``, else any).

    Raise OAUTH_PROVIDER_NOT_FOUND_OR_NOT_ENABLED, OAUTH_ACCESS_TOKEN_NOT_AVAILABLE_WITH_SHARED_
    OAUTH_KEYS, USER_NOT_FOUND, OAUTH_CONNECTION_NOT_CONNECTED_TO_USER (no such connected
    account), OAUTH_CONNECTION_DOES_NOT_HAVE_REQUIRED_SCOPE (no token grants ``scope``, or the
    provider refused every refresh token), and the provider errors.
    """
    provider = provider_config(project.config, provider_id)
    if provider is None:
        raise OAuthProviderNotFoundOrNotEnabled()
    if provider.is_shared and not deps.settings.oauth_allow_shared_access_tokens:
        raise OAuthAccessTokenNotAvailableWithSharedOAuthKeys()
    wanted = sorted(set((scope or "").split()))
    tenancy_id = project.tenancy_id
    async with deps.pool.connection() as conn:
        await require_user_in(conn, project, user_id)
        accounts = await q.select_connected(
            conn,
            tenancy_id,
            user_id,
            provider_config_id=provider_id,
            provider_account_id=provider_account_id,
        )
        ids = [a.id for a in accounts]
        access = await q.select_usable_tokens(conn, tenancy_id, ids, kind="access", scopes=wanted)
        refresh_tokens = await q.select_usable_tokens(
            conn, tenancy_id, ids, kind="refresh", scopes=wanted
        )
    if not accounts:
        raise OAuthConnectionNotConnectedToUser()
    app = await resolve_app(deps.settings, provider)
    for token in access:
        value = _opened(deps, project, token)
        if value is not None and await is_live(app, value):
            return value
        await _invalidate(deps, project, token)
    for token in refresh_tokens:
        value = _opened(deps, project, token)
        refreshed = None
        if value is not None:
            refreshed = await refresh(app, value, scope=scope or None, granted=token.scopes)
        if refreshed is None:
            await _invalidate(deps, project, token)
            continue
        await _store(deps, project, token, refreshed)
        return refreshed.access_token
    raise OAuthConnectionDoesNotHaveRequiredScope()
