"""The contract's known errors: code, HTTP status, message and the exact ``details`` keys."""

from __future__ import annotations

from typing import Any, ClassVar


class KnownError(Exception):
    """An error the SDK recognises by code. Subclasses fix code, status, message and detail keys.

    Raise with the detail values as keyword arguments; missing or extra keys are a programming
    error (the SDK rebuilds errors from ``details``, so the names are part of the wire contract).
    """

    code: ClassVar[str]
    status: ClassVar[int]
    message: ClassVar[str]
    detail_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, text: str | None = None, /, **details: Any) -> None:
        if set(details) != set(self.detail_keys):
            raise TypeError(f"{self.code} takes details {self.detail_keys}, got {tuple(details)}")
        self.details: dict[str, Any] | None = details if self.detail_keys else None
        self.text = text or str(details.get("message") or self.message)
        super().__init__(self.text)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code}
        if self.details is not None:
            out["details"] = self.details
        out["error"] = self.text
        return out


class StatusError(Exception):
    """A plain HTTP error without a known code; sent as text/plain."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.text = message
        super().__init__(message)


def _known(code: str, status: int, message: str, *detail_keys: str) -> type[KnownError]:
    return type(
        code.title().replace("_", ""),
        (KnownError,),
        {"code": code, "status": status, "message": message, "detail_keys": detail_keys},
    )


# --- request shape ------------------------------------------------------------------------------
SchemaError = _known("SCHEMA_ERROR", 400, "Request validation failed.", "message")
BodyParsingError = _known("BODY_PARSING_ERROR", 400, "The request body could not be parsed.")
# --- project authentication ---------------------------------------------------------------------
AccessTypeRequired = _known(
    "ACCESS_TYPE_REQUIRED",
    400,
    "You must specify an access level for this Stack project. Set the x-stack-access-type header.",
)
InvalidAccessType = _known(
    "INVALID_ACCESS_TYPE", 400, "The x-stack-access-type header must be client, server or admin."
)
ProjectKeyWithoutAccessType = _known(
    "PROJECT_KEY_WITHOUT_ACCESS_TYPE",
    400,
    "A project key was sent without an x-stack-access-type header.",
)
AccessTypeWithoutProjectId = _known(
    "ACCESS_TYPE_WITHOUT_PROJECT_ID",
    400,
    "An access type was sent without an x-stack-project-id header.",
    "request_type",
)
InsufficientAccessType = _known(
    "INSUFFICIENT_ACCESS_TYPE",
    401,
    "This endpoint needs a higher access type.",
    "actual_access_type",
    "allowed_access_types",
)
InvalidPublishableClientKey = _known(
    "INVALID_PUBLISHABLE_CLIENT_KEY",
    401,
    "The publishable client key is not valid for this project.",
    "project_id",
)
InvalidSecretServerKey = _known(
    "INVALID_SECRET_SERVER_KEY",
    401,
    "The secret server key is not valid for this project.",
    "project_id",
)
InvalidSuperSecretAdminKey = _known(
    "INVALID_SUPER_SECRET_ADMIN_KEY",
    401,
    "The super secret admin key is not valid for this project.",
    "project_id",
)
PublishableClientKeyRequiredForProject = _known(
    "PUBLISHABLE_CLIENT_KEY_REQUIRED_FOR_PROJECT",
    401,
    "This project requires a publishable client key on client requests.",
    "project_id",
)
ServerAuthenticationRequired = _known(
    "SERVER_AUTHENTICATION_REQUIRED", 401, "A secret server key is required for server access."
)
AdminAuthenticationRequired = _known(
    "ADMIN_AUTHENTICATION_REQUIRED",
    401,
    "A super secret admin key or an admin access token is required for admin access.",
)
ExpectedInternalProject = _known(
    "EXPECTED_INTERNAL_PROJECT", 401, "This endpoint is only available on the internal project."
)
UnparsableAdminAccessToken = _known(
    "UNPARSABLE_ADMIN_ACCESS_TOKEN", 401, "The admin access token could not be verified."
)
AdminAccessTokenExpired = _known(
    "ADMIN_ACCESS_TOKEN_EXPIRED", 401, "The admin access token has expired.", "expired_at_millis"
)
AdminAccessTokenIsNotAdmin = _known(
    "ADMIN_ACCESS_TOKEN_IS_NOT_ADMIN",
    401,
    "The admin access token's user does not own this project.",
)
CurrentProjectNotFound = _known(
    "CURRENT_PROJECT_NOT_FOUND",
    400,
    "The project in x-stack-project-id does not exist.",
    "project_id",
)
BranchDoesNotExist = _known(
    "BRANCH_DOES_NOT_EXIST", 400, "The branch in x-stack-branch-id does not exist.", "branch_id"
)
# --- user tokens ----------------------------------------------------------------------------------
UnparsableAccessToken = _known(
    "UNPARSABLE_ACCESS_TOKEN", 401, "The access token could not be verified."
)
AccessTokenExpired = _known(
    "ACCESS_TOKEN_EXPIRED",
    401,
    "The access token has expired. Refresh it and try again.",
    "expired_at_millis",
    "project_id",
    "user_id",
    "refresh_token_id",
)
InvalidProjectForAccessToken = _known(
    "INVALID_PROJECT_FOR_ACCESS_TOKEN",
    401,
    "The access token was issued for another project.",
    "expected_project_id",
    "actual_project_id",
)
RefreshTokenNotFoundOrExpired = _known(
    "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED", 401, "The refresh token does not exist or has expired."
)
CannotDeleteCurrentSession = _known(
    "CANNOT_DELETE_CURRENT_SESSION",
    400,
    "The current session cannot be deleted this way; sign out instead.",
)
AnonymousAuthenticationNotAllowed = _known(
    "ANONYMOUS_AUTHENTICATION_NOT_ALLOWED",
    401,
    "Anonymous users are not allowed here; send x-stack-allow-anonymous-user: true to permit them.",
)
RestrictedUserNotAllowed = _known(
    "RESTRICTED_USER_NOT_ALLOWED",
    403,
    "Restricted users are not allowed here; send x-stack-allow-restricted-user: true to allow.",
    "restricted_reason",
)
# --- users and passwords --------------------------------------------------------------------------
UserEmailAlreadyExists = _known(
    "USER_EMAIL_ALREADY_EXISTS",
    409,
    "A user with this email address already exists.",
    "email",
    "would_work_if_email_was_verified",
)
EmailPasswordMismatch = _known("EMAIL_PASSWORD_MISMATCH", 400, "Wrong e-mail or password.")
PasswordTooShort = _known("PASSWORD_TOO_SHORT", 400, "The password is too short.", "min_length")
PasswordTooLong = _known("PASSWORD_TOO_LONG", 400, "The password is too long.", "maxLength")
PasswordConfirmationMismatch = _known(
    "PASSWORD_CONFIRMATION_MISMATCH", 400, "The old password is not correct."
)
UserDoesNotHavePassword = _known(
    "USER_DOES_NOT_HAVE_PASSWORD", 400, "This user has no password set."
)
PasswordAuthenticationNotEnabled = _known(
    "PASSWORD_AUTHENTICATION_NOT_ENABLED", 400, "Password sign-in is not enabled for this project."
)
SignUpNotEnabled = _known("SIGN_UP_NOT_ENABLED", 400, "Sign-up is not enabled for this project.")
CannotGetOwnUserWithoutUser = _known(
    "CANNOT_GET_OWN_USER_WITHOUT_USER", 400, "There is no signed-in user to act as 'me'."
)
UserAuthenticationRequired = _known(
    "USER_AUTHENTICATION_REQUIRED", 401, "This endpoint needs a signed-in user."
)
UserNotFound = _known("USER_NOT_FOUND", 404, "User not found.")
UserIdDoesNotExist = _known(
    "USER_ID_DOES_NOT_EXIST", 400, "The user with the given id does not exist.", "user_id"
)
RedirectUrlNotWhitelisted = _known(
    "REDIRECT_URL_NOT_WHITELISTED", 400, "The redirect URL is not in the project's trusted domains."
)
TeamNotFound = _known("TEAM_NOT_FOUND", 404, "Team not found.", "team_id")
# --- teams, permissions, contact channels, API keys -----------------------------------------------
TeamMembershipNotFound = _known(
    "TEAM_MEMBERSHIP_NOT_FOUND", 404, "The user is not a member of this team.", "team_id", "user_id"
)
TeamMembershipAlreadyExists = _known(
    "TEAM_MEMBERSHIP_ALREADY_EXISTS", 409, "The user is already a member of this team."
)
TeamPermissionRequired = _known(
    "TEAM_PERMISSION_REQUIRED",
    401,
    "The user lacks the team permission this action needs.",
    "team_id",
    "user_id",
    "permission_id",
)
TeamPermissionNotFound = _known(
    "TEAM_PERMISSION_NOT_FOUND",
    401,
    "The user does not hold this team permission directly.",
    "team_id",
    "user_id",
    "permission_id",
)
ProjectPermissionRequired = _known(
    "PROJECT_PERMISSION_REQUIRED",
    401,
    "The user lacks the project permission this action needs.",
    "user_id",
    "permission_id",
)
PermissionNotFound = _known(
    "PERMISSION_NOT_FOUND", 404, "No permission with this id is defined.", "permission_id"
)
PermissionScopeMismatch = _known(
    "WRONG_PERMISSION_SCOPE",
    404,
    "No permission with this id is defined in this scope (it exists in the other one).",
    "permission_id",
    "expected_scope",
    "actual_scope",
)
ContainedPermissionNotFound = _known(
    "CONTAINED_PERMISSION_NOT_FOUND",
    400,
    "A contained permission is not defined in this scope.",
    "permission_id",
)
PermissionIdAlreadyExists = _known(
    "PERMISSION_ID_ALREADY_EXISTS",
    400,
    "A permission with this id already exists; choose another id.",
    "permission_id",
)
TeamInvitationRestrictedUserNotAllowed = _known(
    "TEAM_INVITATION_RESTRICTED_USER_NOT_ALLOWED",
    403,
    "Restricted users cannot accept team invitations; finish onboarding first.",
    "restricted_reason",
)
ContactChannelAlreadyUsedForAuthBySomeoneElse = _known(
    "CONTACT_CHANNEL_ALREADY_USED_FOR_AUTH_BY_SOMEONE_ELSE",
    409,
    "This contact channel is already used for sign-in by another account.",
    "type",
    "contact_channel_value",
    "would_work_if_email_was_verified",
)
ApiKeyNotFound = _known("API_KEY_NOT_FOUND", 404, "API key not found.")
ApiKeyRevoked = _known("API_KEY_REVOKED", 401, "This API key has been revoked.")
ApiKeyExpired = _known("API_KEY_EXPIRED", 401, "This API key has expired.")
WrongApiKeyType = _known(
    "WRONG_API_KEY_TYPE",
    400,
    "This endpoint checks another type of API key.",
    "expected_type",
    "actual_type",
)
InvalidOauthClientIdOrSecret = _known(
    "INVALID_OAUTH_CLIENT_ID_OR_SECRET",
    400,
    "The OAuth client id or secret is not valid.",
    "client_id",
)

# The SDK surfaces these as "signed out" rather than as failures; listed here for callers' clarity.
REFRESH_TOKEN_ERRORS = frozenset({RefreshTokenNotFoundOrExpired.code})

# --- verification codes ---------------------------------------------------------------------------
VerificationCodeNotFound = _known(
    "VERIFICATION_CODE_NOT_FOUND", 404, "The verification code does not exist for this project."
)
VerificationCodeExpired = _known(
    "VERIFICATION_CODE_EXPIRED", 400, "The verification code has expired."
)
VerificationCodeAlreadyUsed = _known(
    "VERIFICATION_CODE_ALREADY_USED", 409, "The verification link has already been used."
)
VerificationCodeMaxAttemptsReached = _known(
    "VERIFICATION_CODE_MAX_ATTEMPTS_REACHED",
    400,
    "The verification code was entered wrongly too many times. Request a new code.",
)

# --- email ----------------------------------------------------------------------------------------
EmailAlreadyVerified = _known("EMAIL_ALREADY_VERIFIED", 409, "The email is already verified.")
EmailIsNotPrimaryEmail = _known(
    "EMAIL_IS_NOT_PRIMARY_EMAIL",
    400,
    "The given email is not the user's primary email.",
    "email",
    "primary_email",
)
RequiresCustomEmailServer = _known(
    "REQUIRES_CUSTOM_EMAIL_SERVER",
    400,
    "This action requires a custom SMTP server. Configure one in the project's email settings.",
)

# --- multi-factor authentication (sec-mfa) --------------------------------------------------------
MultiFactorAuthenticationRequired = _known(
    "MULTI_FACTOR_AUTHENTICATION_REQUIRED",
    400,
    "Multi-factor authentication is required for this user.",
    "attempt_code",
)
InvalidTotpCode = _known("INVALID_TOTP_CODE", 400, "The TOTP code is invalid. Please try again.")

# --- sec-passwords: common passwords -------------------------------------------------------------
# Stack Auth has no code for "too common". The SDK turns a code it does not know into a thrown
# "please update your SDK" error, whereas it returns PASSWORD_REQUIREMENTS_NOT_MET (the family's
# own code, in its KnownErrors table; it is rebuilt from ``details.message``) as the result its
# sign-up and password methods already expect. So the refusal is sent under the family's code, and
# ``details.reason`` tells it apart from the family's other members for clients that care.
PASSWORD_TOO_COMMON_REASON = "PASSWORD_TOO_COMMON"
PasswordRequirementsNotMet = _known(
    "PASSWORD_REQUIREMENTS_NOT_MET",
    400,
    "The password does not meet the project's requirements.",
    "message",
    "reason",
)


def password_too_common() -> KnownError:
    """PASSWORD_REQUIREMENTS_NOT_MET for a password found on the common-password list."""
    return PasswordRequirementsNotMet(
        message="This password is too common. Choose a less predictable one.",
        reason=PASSWORD_TOO_COMMON_REASON,
    )
