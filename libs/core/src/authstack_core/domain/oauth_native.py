"""Native Sign in with Apple (``POST /auth/oauth/callback/apple/native``): an app signs in with
the ID token Apple handed it, with no browser flow and no provider tokens to keep.

The user is resolved as by the browser flow (``oauth_accounts``: the linked account's user, a
merge by verified email, or a new user under the sign-up rules) for the project's ``apple``
provider, and signed in; a user with TOTP gets MULTI_FACTOR_AUTHENTICATION_REQUIRED instead.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from authstack_core.domain import mfa, oauth_accounts
from authstack_core.domain.context import Deps
from authstack_core.domain.sessions import IssuedSession, SignIn
from authstack_core.errors import AppleBundleIdNotConfigured, OAuthProviderNotFoundOrNotEnabled
from authstack_core.models.oauth import provider_config
from authstack_core.models.projects import TenantProject
from authstack_core.oauth.apple import verify_id_token

APPLE = "apple"


async def apple_sign_in(deps: Deps, project: TenantProject, id_token: str) -> SignIn:
    """Sign in (or up) with an Apple ID token.

    Raise OAUTH_PROVIDER_NOT_FOUND_OR_NOT_ENABLED (no ``apple`` provider that signs in),
    APPLE_BUNDLE_ID_NOT_CONFIGURED, INVALID_APPLE_CREDENTIALS, the sign-in's errors
    (``oauth_accounts.sign_in_in``) and MULTI_FACTOR_AUTHENTICATION_REQUIRED.
    """
    provider = provider_config(project.config, APPLE)
    if provider is None or not provider.allow_sign_in:
        raise OAuthProviderNotFoundOrNotEnabled()
    if not provider.apple_bundle_ids:
        raise AppleBundleIdNotConfigured()
    profile = await verify_id_token(deps.settings, id_token, provider.apple_bundle_ids)

    async def session(
        conn: AsyncConnection[Any], user: oauth_accounts.OAuthUser
    ) -> tuple[oauth_accounts.OAuthUser, IssuedSession | mfa.MfaRequired]:
        issued = await mfa.session_or_mfa_in(
            conn, deps, project, user.user_id, first_factor="oauth", is_new_user=user.is_new_user
        )
        return user, issued

    attempt = oauth_accounts.SignInAttempt(APPLE, "authenticate", None)
    user, issued = await oauth_accounts.sign_in(deps, project, attempt, profile, None, session)
    if isinstance(issued, mfa.MfaRequired):
        raise issued.error()  # after the commit: the attempt code is kept
    return SignIn(issued, user.is_new_user)
