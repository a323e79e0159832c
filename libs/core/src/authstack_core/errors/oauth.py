"""Errors of sign-in with OAuth: the authorize, callback and token steps (contract §5.2, §3)."""

# Class names are upstream's KnownErrors names (the ones the SDK uses), not Python's *Error style.
# ruff: noqa: N818

from __future__ import annotations

from authstack_core.errors.base import KnownError, PlainError


# --- known errors: the SDK reads them, and the callback sends them to error_redirect_url ----------
class OAuthProviderNotFoundOrNotEnabled(
    KnownError,
    code="OAUTH_PROVIDER_NOT_FOUND_OR_NOT_ENABLED",
    status=400,
    message="The OAuth provider is not found or not enabled.",
):
    pass


class OAuthExtraScopeNotAvailableWithSharedOAuthKeys(
    KnownError,
    code="OAUTH_EXTRA_SCOPE_NOT_AVAILABLE_WITH_SHARED_OAUTH_KEYS",
    status=400,
    message="Extra scopes are not available with shared OAuth keys. Please add your own OAuth "
    "keys to use extra scopes.",
):
    pass


class OAuthConnectionAlreadyConnectedToAnotherUser(
    KnownError,
    code="OAUTH_CONNECTION_ALREADY_CONNECTED_TO_ANOTHER_USER",
    status=409,
    message="The OAuth connection is already connected to another user.",
):
    pass


class OAuthProviderAccessDenied(
    KnownError,
    code="OAUTH_PROVIDER_ACCESS_DENIED",
    status=400,
    message="The OAuth provider denied access to the user.",
):
    pass


class OuterOAuthTimeout(
    KnownError,
    code="OUTER_OAUTH_TIMEOUT",
    status=408,
    message="The OAuth flow has timed out. Please sign in again.",
):
    pass


class InvalidAuthorizationCode(
    KnownError,
    code="INVALID_AUTHORIZATION_CODE",
    status=400,
    message="The given authorization code is invalid.",
):
    pass


# --- plain errors: a browser on the callback page, or a client that is not the SDK ---------------
class InnerOAuthCookieNotFound(
    PlainError,
    status=400,
    message="Inner OAuth cookie not found. This is likely because you refreshed the page during "
    "the OAuth sign in process. Please try signing in again",
):
    pass


class InvalidOAuthState(
    PlainError, status=400, message="Invalid OAuth state. Please try signing in again."
):
    pass


class InnerOAuthCallbackFailed(
    PlainError,
    status=400,
    message="Inner OAuth callback failed due to invalid grant. Please try again.",
):
    pass


class InvalidProviderIdToken(
    PlainError,
    status=400,
    message="The OAuth provider's ID token is not valid (signature, issuer, audience, nonce or "
    "expiry). Please try signing in again.",
):
    pass


class OAuthProviderUnavailable(
    PlainError,
    status=502,
    message="The OAuth provider could not be reached, or answered in a way this server does not "
    "understand. Please try again later.",
):
    pass


class OAuthProviderAddressRefused(
    PlainError,
    status=400,
    message="The OAuth provider's address is on a private or reserved network, which this server "
    "does not connect to for a project's own provider.",
):
    pass


class OAuthProviderNotConfigured(
    PlainError,
    status=400,
    message="This OAuth provider has no client keys: the operator sets the shared ones "
    "(STACK_<PROVIDER>_CLIENT_ID and _CLIENT_SECRET), or the project sets its own.",
):
    pass


class OAuthLinkNeedsToken(
    PlainError, status=400, message="?token= query parameter is required for link type"
):
    pass


class OAuthTokenForAnotherProject(
    PlainError, status=403, message="The access token is not valid for this project"
):
    pass


class OAuthRedirectUriMismatch(
    PlainError,
    status=400,
    message="Invalid redirect URI. Your redirect URI must be the same as the one used to get the "
    "authorization code.",
):
    pass
