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


# --- linked accounts and connected accounts (contract §1.4) -------------------------------------
class OAuthConnectionNotConnectedToUser(
    KnownError,
    code="OAUTH_CONNECTION_NOT_CONNECTED_TO_USER",
    status=400,
    message="The OAuth connection is not connected to any user.",
):
    pass


class OAuthConnectionDoesNotHaveRequiredScope(
    KnownError,
    code="OAUTH_CONNECTION_DOES_NOT_HAVE_REQUIRED_SCOPE",
    status=400,
    message="The OAuth connection does not have the required scope.",
):
    pass


class OAuthAccessTokenNotAvailableWithSharedOAuthKeys(
    KnownError,
    code="OAUTH_ACCESS_TOKEN_NOT_AVAILABLE_WITH_SHARED_OAUTH_KEYS",
    status=400,
    message="Access tokens are not available with shared OAuth keys. Please add your own OAuth "
    "keys on the Stack dashboard to use access tokens.",
):
    pass


class OAuthProviderAccountIdAlreadyUsedForSignIn(
    KnownError,
    code="OAUTH_PROVIDER_ACCOUNT_ID_ALREADY_USED_FOR_SIGN_IN",
    status=400,
    message="A provider with the same account ID is already used for signing in.",
):
    pass


class InvalidAppleCredentials(
    KnownError,
    code="INVALID_APPLE_CREDENTIALS",
    status=400,
    message="The Apple Sign In credentials could not be verified. Please try signing in again.",
):
    pass


class AppleBundleIdNotConfigured(
    KnownError,
    code="APPLE_BUNDLE_ID_NOT_CONFIGURED",
    status=400,
    message="Apple Sign In is enabled, but no Bundle IDs are configured. Please add your app's "
    "Bundle ID in the Stack Auth dashboard under OAuth Providers > Apple > Apple Bundle IDs.",
):
    pass


class OAuthAccountNotFound(PlainError, status=404):
    """A linked account that is not the named user's (or not there at all)."""

    def __init__(self, account_id: str, user_id: str) -> None:
        super().__init__(f"OAuth provider {account_id} for user {user_id} not found")


class OAuthProviderNotConfiguredForAccount(PlainError, status=404):
    """Linking an account of a provider the project has no entry for."""

    def __init__(self, provider_config_id: str) -> None:
        super().__init__(f"OAuth provider {provider_config_id} not found or not configured")


class OAuthProviderOfNewUserNotFound(PlainError, status=400):
    """``POST /users`` naming a provider the project has no entry for."""

    def __init__(self, provider_config_id: str) -> None:
        super().__init__(f"OAuth provider {provider_config_id} not found")


class OAuthSignInAccountOfTypeExists(
    PlainError,
    status=400,
    message="The same provider type with sign-in enabled already exists for this user.",
):
    pass


class OAuthAccountOfTypeExists(
    PlainError,
    status=400,
    message="The same provider type with the same account ID already exists for this user.",
):
    pass


class OAuthProviderTokenRejected(OAuthProviderUnavailable):
    """The provider answered 401 to a token of ours (revoked or expired early): to a sign-in, the
    provider is as unusable as when unreachable; to a stored token, it means "refresh it"."""
