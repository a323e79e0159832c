"""Typed errors: one exception per known error code of the contract, all under ``StackError``.

The server names a known error by its code (the ``x-stack-known-error`` header and ``code`` in
the body) and sends its ``details``; :func:`error_from_response` turns that into the class
registered for the code, so ``except UserNotFound`` or ``except InvalidAccessToken`` (a family
of codes) reads as the contract does. A code this SDK does not know yet still raises, as the
base :class:`StackError` carrying that code.
"""

# Class names are the contract's error names (as the JS SDK's KnownErrors), not *Error style.
# ruff: noqa: N818

from __future__ import annotations

from typing import Any, ClassVar

_BY_CODE: dict[str, type[StackError]] = {}


class StackError(Exception):
    """An error answer from the API (or no answer at all).

    ``code`` is the contract's known-error code (None for a plain HTTP error or a transport
    failure), ``details`` the error's details as sent (an empty dict when it has none) and
    ``status`` the HTTP status (0 when no response came back).
    """

    code: str | None
    status: int
    details: dict[str, Any]
    default_status: ClassVar[int] = 0

    def __init_subclass__(cls, *, code: str | None = None, status: int = 0, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if code is not None:
            cls.code = code
            _BY_CODE[code] = cls
        if status:
            cls.default_status = status

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None or not hasattr(self, "code"):
            self.code = code
        self.status = status if status is not None else self.default_status
        self.details = details or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status}, {self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled whole (task queues and process pools carry exceptions across processes);
        # the default would call __init__ with the message alone.
        return (_restore, (type(self), self.message, dict(self.__dict__)))


def _restore(cls: type[StackError], message: str, state: dict[str, Any]) -> StackError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class StackConnectionError(StackError):
    """The request never got an answer (connection refused, timeout, TLS failure...)."""


class StackStatusError(StackError):
    """An error answer that is not a known error: a plain-text 4xx or a 5xx."""


class StackRateLimitError(StackStatusError):
    """429: too many requests. ``retry_after`` is the server's wait in seconds (None if it
    gave none). The apps retry such calls on their own (``rate_limit_retries``) first."""

    def __init__(self, message: str, *, status: int, retry_after: float | None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


# --- families: parent classes the contract's SDK catches as one --------------------------------


class InvalidProjectAuthentication(StackError, code="INVALID_PROJECT_AUTHENTICATION", status=401):
    """The project keys were refused."""


class ProjectAuthenticationRequired(StackError, code="PROJECT_AUTHENTICATION_REQUIRED", status=401):
    """A project key needed by the request was missing."""


class InvalidAccessToken(StackError, code="INVALID_ACCESS_TOKEN", status=401):
    """The user access token was refused."""


class InvalidAdminAccessToken(StackError, code="INVALID_ADMIN_ACCESS_TOKEN", status=401):
    """The admin access token was refused."""


class RefreshTokenError(StackError, code="REFRESH_TOKEN_ERROR", status=401):
    """The refresh token is unknown, expired or revoked."""


class VerificationError(StackError, code="VERIFICATION_ERROR", status=400):
    """A verification code was refused."""


class PasswordRequirementsNotMet(StackError, code="PASSWORD_REQUIREMENTS_NOT_MET", status=400):
    """The password breaks the project's password rules."""


class ApiKeyNotValid(StackError, code="API_KEY_NOT_VALID", status=401):
    """A user or team API key is not (or no longer) valid."""


# --- the known errors, by code -------------------------------------------------------------------
# Each class statement registers its code; its status is the one the contract gives it.


# fmt: off
class SchemaError(StackError, code="SCHEMA_ERROR", status=400): ...
class BodyParsingError(StackError, code="BODY_PARSING_ERROR", status=400): ...
class AccessTypeRequired(StackError, code="ACCESS_TYPE_REQUIRED", status=400): ...
class InvalidAccessType(StackError, code="INVALID_ACCESS_TYPE", status=400): ...
class ProjectKeyWithoutAccessType(StackError, code="PROJECT_KEY_WITHOUT_ACCESS_TYPE", status=400): ...  # noqa: E501
class AccessTypeWithoutProjectId(StackError, code="ACCESS_TYPE_WITHOUT_PROJECT_ID", status=400): ...
class InsufficientAccessType(StackError, code="INSUFFICIENT_ACCESS_TYPE", status=401): ...
class InvalidPublishableClientKey(InvalidProjectAuthentication, code="INVALID_PUBLISHABLE_CLIENT_KEY"): ...  # noqa: E501
class InvalidSecretServerKey(InvalidProjectAuthentication, code="INVALID_SECRET_SERVER_KEY"): ...
class InvalidSuperSecretAdminKey(InvalidProjectAuthentication, code="INVALID_SUPER_SECRET_ADMIN_KEY"): ...  # noqa: E501
class PublishableClientKeyRequiredForProject(ProjectAuthenticationRequired, code="PUBLISHABLE_CLIENT_KEY_REQUIRED_FOR_PROJECT"): ...  # noqa: E501
class ServerAuthenticationRequired(ProjectAuthenticationRequired, code="SERVER_AUTHENTICATION_REQUIRED"): ...  # noqa: E501
class AdminAuthenticationRequired(ProjectAuthenticationRequired, code="ADMIN_AUTHENTICATION_REQUIRED"): ...  # noqa: E501
class ExpectedInternalProject(StackError, code="EXPECTED_INTERNAL_PROJECT", status=401): ...
class UnparsableAdminAccessToken(InvalidAdminAccessToken, code="UNPARSABLE_ADMIN_ACCESS_TOKEN"): ...
class AdminAccessTokenExpired(InvalidAdminAccessToken, code="ADMIN_ACCESS_TOKEN_EXPIRED"): ...
class AdminAccessTokenIsNotAdmin(InvalidAdminAccessToken, code="ADMIN_ACCESS_TOKEN_IS_NOT_ADMIN"): ...  # noqa: E501
class UnparsableAccessToken(InvalidAccessToken, code="UNPARSABLE_ACCESS_TOKEN"): ...
class AccessTokenExpired(InvalidAccessToken, code="ACCESS_TOKEN_EXPIRED"): ...
class InvalidProjectForAccessToken(InvalidAccessToken, code="INVALID_PROJECT_FOR_ACCESS_TOKEN"): ...
class RefreshTokenNotFoundOrExpired(RefreshTokenError, code="REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED"): ...  # noqa: E501
class CannotDeleteCurrentSession(StackError, code="CANNOT_DELETE_CURRENT_SESSION", status=400): ...
class CurrentProjectNotFound(StackError, code="CURRENT_PROJECT_NOT_FOUND", status=400): ...
class ProjectNotFound(StackError, code="PROJECT_NOT_FOUND", status=404): ...
class BranchDoesNotExist(StackError, code="BRANCH_DOES_NOT_EXIST", status=400): ...
class UserEmailAlreadyExists(StackError, code="USER_EMAIL_ALREADY_EXISTS", status=409): ...
class EmailPasswordMismatch(StackError, code="EMAIL_PASSWORD_MISMATCH", status=400): ...
class PasswordTooShort(PasswordRequirementsNotMet, code="PASSWORD_TOO_SHORT"): ...
class PasswordTooLong(PasswordRequirementsNotMet, code="PASSWORD_TOO_LONG"): ...
class PasswordConfirmationMismatch(StackError, code="PASSWORD_CONFIRMATION_MISMATCH", status=400): ...  # noqa: E501
class UserDoesNotHavePassword(StackError, code="USER_DOES_NOT_HAVE_PASSWORD", status=400): ...
class PasswordAuthenticationNotEnabled(StackError, code="PASSWORD_AUTHENTICATION_NOT_ENABLED", status=400): ...  # noqa: E501
class PasskeyAuthenticationNotEnabled(StackError, code="PASSKEY_AUTHENTICATION_NOT_ENABLED", status=400): ...  # noqa: E501
class SignUpNotEnabled(StackError, code="SIGN_UP_NOT_ENABLED", status=400): ...
class SignUpRejected(StackError, code="SIGN_UP_REJECTED", status=403): ...
class BotChallengeRequired(StackError, code="BOT_CHALLENGE_REQUIRED", status=409): ...
class BotChallengeFailed(StackError, code="BOT_CHALLENGE_FAILED", status=400): ...
class CannotGetOwnUserWithoutUser(StackError, code="CANNOT_GET_OWN_USER_WITHOUT_USER", status=400): ...  # noqa: E501
class UserAuthenticationRequired(StackError, code="USER_AUTHENTICATION_REQUIRED", status=401): ...
class UserNotFound(StackError, code="USER_NOT_FOUND", status=404): ...
class UserIdDoesNotExist(StackError, code="USER_ID_DOES_NOT_EXIST", status=400): ...
class AnonymousAuthenticationNotAllowed(StackError, code="ANONYMOUS_AUTHENTICATION_NOT_ALLOWED", status=401): ...  # noqa: E501
class RestrictedUserNotAllowed(StackError, code="RESTRICTED_USER_NOT_ALLOWED", status=403): ...
class RedirectUrlNotWhitelisted(StackError, code="REDIRECT_URL_NOT_WHITELISTED", status=400): ...
class VerificationCodeNotFound(VerificationError, code="VERIFICATION_CODE_NOT_FOUND", status=404): ...  # noqa: E501
class VerificationCodeExpired(VerificationError, code="VERIFICATION_CODE_EXPIRED"): ...
class VerificationCodeAlreadyUsed(VerificationError, code="VERIFICATION_CODE_ALREADY_USED", status=409): ...  # noqa: E501
class VerificationCodeMaxAttemptsReached(VerificationError, code="VERIFICATION_CODE_MAX_ATTEMPTS_REACHED"): ...  # noqa: E501
class EmailAlreadyVerified(StackError, code="EMAIL_ALREADY_VERIFIED", status=409): ...
class EmailIsNotPrimaryEmail(StackError, code="EMAIL_IS_NOT_PRIMARY_EMAIL", status=400): ...
class MultiFactorAuthenticationRequired(StackError, code="MULTI_FACTOR_AUTHENTICATION_REQUIRED", status=400): ...  # noqa: E501
class InvalidTotpCode(StackError, code="INVALID_TOTP_CODE", status=400): ...
class TeamNotFound(StackError, code="TEAM_NOT_FOUND", status=404): ...
class TeamMembershipNotFound(StackError, code="TEAM_MEMBERSHIP_NOT_FOUND", status=404): ...
class TeamMembershipAlreadyExists(StackError, code="TEAM_MEMBERSHIP_ALREADY_EXISTS", status=409): ...  # noqa: E501
class TeamPermissionRequired(StackError, code="TEAM_PERMISSION_REQUIRED", status=401): ...
class TeamPermissionNotFound(StackError, code="TEAM_PERMISSION_NOT_FOUND", status=401): ...
class ProjectPermissionRequired(StackError, code="PROJECT_PERMISSION_REQUIRED", status=401): ...
class PermissionNotFound(StackError, code="PERMISSION_NOT_FOUND", status=404): ...
class ContactChannelAlreadyUsedForAuthBySomeoneElse(StackError, code="CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE", status=409): ...  # noqa: E501
class OAuthProviderNotFoundOrNotEnabled(StackError, code="OAUTH_PROVIDER_NOT_FOUND_OR_NOT_ENABLED", status=400): ...  # noqa: E501
class OAuthConnectionAlreadyConnectedToAnotherUser(StackError, code="OAUTH_CONNECTION_ALREADY_CONNECTED_TO_ANOTHER_USER", status=409): ...  # noqa: E501
class InvalidOAuthClientIdOrSecret(StackError, code="INVALID_OAUTH_CLIENT_ID_OR_SECRET", status=400): ...  # noqa: E501
class InvalidAuthorizationCode(StackError, code="INVALID_AUTHORIZATION_CODE", status=400): ...
class OuterOAuthTimeout(StackError, code="OUTER_OAUTH_TIMEOUT", status=408): ...
class ApiKeyNotFound(ApiKeyNotValid, code="API_KEY_NOT_FOUND", status=404): ...
class ApiKeyRevoked(ApiKeyNotValid, code="API_KEY_REVOKED"): ...
class ApiKeyExpired(ApiKeyNotValid, code="API_KEY_EXPIRED"): ...
class WrongApiKeyType(ApiKeyNotValid, code="WRONG_API_KEY_TYPE", status=400): ...
class RequiresCustomEmailServer(StackError, code="REQUIRES_CUSTOM_EMAIL_SERVER", status=400): ...
class AnalyticsNotEnabled(StackError, code="ANALYTICS_NOT_ENABLED", status=400): ...
class AnalyticsQueryError(StackError, code="ANALYTICS_QUERY_ERROR", status=400): ...
# Codes this project's server adds or sends beyond the contract's table.
class TeamInvitationRestrictedUserNotAllowed(StackError, code="TEAM_INVITATION_RESTRICTED_USER_NOT_ALLOWED", status=403): ...  # noqa: E501
class PermissionIdAlreadyExists(StackError, code="PERMISSION_ID_ALREADY_EXISTS", status=400): ...
class ContainedPermissionNotFound(StackError, code="CONTAINED_PERMISSION_NOT_FOUND", status=400): ...  # noqa: E501
class WrongPermissionScope(StackError, code="WRONG_PERMISSION_SCOPE", status=404): ...
class OAuthProviderAccountIdAlreadyUsedForSignIn(StackError, code="OAUTH_PROVIDER_ACCOUNT_ID_ALREADY_USED_FOR_SIGN_IN", status=400): ...  # noqa: E501
class OAuthConnectionNotConnectedToUser(StackError, code="OAUTH_CONNECTION_NOT_CONNECTED_TO_USER", status=400): ...  # noqa: E501
class OAuthConnectionDoesNotHaveRequiredScope(StackError, code="OAUTH_CONNECTION_DOES_NOT_HAVE_REQUIRED_SCOPE", status=400): ...  # noqa: E501
class OAuthAccessTokenNotAvailableWithSharedOAuthKeys(StackError, code="OAUTH_ACCESS_TOKEN_NOT_AVAILABLE_WITH_SHARED_OAUTH_KEYS", status=400): ...  # noqa: E501
class OAuthExtraScopeNotAvailableWithSharedOAuthKeys(StackError, code="OAUTH_EXTRA_SCOPE_NOT_AVAILABLE_WITH_SHARED_OAUTH_KEYS", status=400): ...  # noqa: E501
class OAuthProviderAccessDenied(StackError, code="OAUTH_PROVIDER_ACCESS_DENIED", status=400): ...
class InvalidAppleCredentials(StackError, code="INVALID_APPLE_CREDENTIALS", status=400): ...
class AppleBundleIdNotConfigured(StackError, code="APPLE_BUNDLE_ID_NOT_CONFIGURED", status=400): ...
class PasskeyRegistrationFailed(StackError, code="PASSKEY_REGISTRATION_FAILED", status=400): ...
class PasskeyAuthenticationFailed(StackError, code="PASSKEY_AUTHENTICATION_FAILED", status=400): ...
class InvalidPollingCode(StackError, code="INVALID_POLLING_CODE", status=400): ...
class EmailNotEditable(StackError, code="EMAIL_NOT_EDITABLE", status=400): ...
class EmailRenderingError(StackError, code="EMAIL_RENDERING_ERROR", status=400): ...
class EmailCapacityBoostAlreadyActive(StackError, code="EMAIL_CAPACITY_BOOST_ALREADY_ACTIVE", status=409): ...  # noqa: E501
# fmt: on


def error_class(code: str) -> type[StackError]:
    """The exception class for a known-error ``code``; ``StackError`` for a code not listed."""
    return _BY_CODE.get(code, StackError)


def known_error(
    code: str, message: str, *, status: int, details: dict[str, Any] | None
) -> StackError:
    """The typed exception for one known-error answer."""
    return error_class(code)(message, code=code, status=status, details=details)


def known_codes() -> frozenset[str]:
    """Every code that has a class of its own (the families' parent codes included)."""
    return frozenset(_BY_CODE)
