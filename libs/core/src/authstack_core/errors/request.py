"""Known errors about the request itself: its shape, its project keys and its tokens."""

# Class names are upstream's KnownErrors names (the ones the SDK uses), not Python's *Error style.
# ruff: noqa: N818

from __future__ import annotations

from authstack_core.errors.base import KnownError


# --- request shape --------------------------------------------------------------------------------
class SchemaError(
    KnownError, code="SCHEMA_ERROR", status=400, message="Request validation failed."
):
    # The detail is the text itself; as a field it would hide the class's ``message``.
    def __init__(self, *, message: str) -> None:
        super().__init__(message)
        self.details = {"message": message}


class BodyParsingError(
    KnownError,
    code="BODY_PARSING_ERROR",
    status=400,
    message="The request body could not be parsed.",
):
    pass


# --- project authentication -----------------------------------------------------------------------
class AccessTypeRequired(
    KnownError,
    code="ACCESS_TYPE_REQUIRED",
    status=400,
    message=(
        "You must specify an access level for this Stack project."
        " Set the x-stack-access-type header."
    ),
):
    pass


class InvalidAccessType(
    KnownError,
    code="INVALID_ACCESS_TYPE",
    status=400,
    message="The x-stack-access-type header must be client, server or admin.",
):
    pass


class ProjectKeyWithoutAccessType(
    KnownError,
    code="PROJECT_KEY_WITHOUT_ACCESS_TYPE",
    status=400,
    message="A project key was sent without an x-stack-access-type header.",
):
    pass


class AccessTypeWithoutProjectId(
    KnownError,
    code="ACCESS_TYPE_WITHOUT_PROJECT_ID",
    status=400,
    message="An access type was sent without an x-stack-project-id header.",
):
    request_type: str


class InsufficientAccessType(
    KnownError,
    code="INSUFFICIENT_ACCESS_TYPE",
    status=401,
    message="This endpoint needs a higher access type.",
):
    actual_access_type: str
    allowed_access_types: list[str]


class InvalidPublishableClientKey(
    KnownError,
    code="INVALID_PUBLISHABLE_CLIENT_KEY",
    status=401,
    message="The publishable client key is not valid for this project.",
):
    project_id: str


class InvalidSecretServerKey(
    KnownError,
    code="INVALID_SECRET_SERVER_KEY",
    status=401,
    message="The secret server key is not valid for this project.",
):
    project_id: str


class InvalidSuperSecretAdminKey(
    KnownError,
    code="INVALID_SUPER_SECRET_ADMIN_KEY",
    status=401,
    message="The super secret admin key is not valid for this project.",
):
    project_id: str


class PublishableClientKeyRequiredForProject(
    KnownError,
    code="PUBLISHABLE_CLIENT_KEY_REQUIRED_FOR_PROJECT",
    status=401,
    message="This project requires a publishable client key on client requests.",
):
    project_id: str


class ServerAuthenticationRequired(
    KnownError,
    code="SERVER_AUTHENTICATION_REQUIRED",
    status=401,
    message="A secret server key is required for server access.",
):
    pass


class AdminAuthenticationRequired(
    KnownError,
    code="ADMIN_AUTHENTICATION_REQUIRED",
    status=401,
    message="A super secret admin key or an admin access token is required for admin access.",
):
    pass


class ExpectedInternalProject(
    KnownError,
    code="EXPECTED_INTERNAL_PROJECT",
    status=401,
    message="This endpoint is only available on the internal project.",
):
    pass


class UnparsableAdminAccessToken(
    KnownError,
    code="UNPARSABLE_ADMIN_ACCESS_TOKEN",
    status=401,
    message="The admin access token could not be verified.",
):
    pass


class AdminAccessTokenExpired(
    KnownError,
    code="ADMIN_ACCESS_TOKEN_EXPIRED",
    status=401,
    message="The admin access token has expired.",
):
    expired_at_millis: int


class AdminAccessTokenIsNotAdmin(
    KnownError,
    code="ADMIN_ACCESS_TOKEN_IS_NOT_ADMIN",
    status=401,
    message="The admin access token's user does not own this project.",
):
    pass


class CurrentProjectNotFound(
    KnownError,
    code="CURRENT_PROJECT_NOT_FOUND",
    status=400,
    message="The project in x-stack-project-id does not exist.",
):
    project_id: str


class BranchDoesNotExist(
    KnownError,
    code="BRANCH_DOES_NOT_EXIST",
    status=400,
    message="The branch in x-stack-branch-id does not exist.",
):
    branch_id: str


# --- user tokens ----------------------------------------------------------------------------------
class UnparsableAccessToken(
    KnownError,
    code="UNPARSABLE_ACCESS_TOKEN",
    status=401,
    message="The access token could not be verified.",
):
    pass


class AccessTokenExpired(
    KnownError,
    code="ACCESS_TOKEN_EXPIRED",
    status=401,
    message="The access token has expired. Refresh it and try again.",
):
    expired_at_millis: int
    project_id: str | None
    user_id: str | None
    refresh_token_id: str | None


class InvalidProjectForAccessToken(
    KnownError,
    code="INVALID_PROJECT_FOR_ACCESS_TOKEN",
    status=401,
    message="The access token was issued for another project.",
):
    expected_project_id: str
    actual_project_id: str


class RefreshTokenNotFoundOrExpired(
    KnownError,
    code="REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED",
    status=401,
    message="The refresh token does not exist or has expired.",
):
    pass


# The SDK surfaces these as "signed out" rather than as failures; listed here for callers' clarity.
REFRESH_TOKEN_ERRORS = frozenset({RefreshTokenNotFoundOrExpired.code})


class CannotDeleteCurrentSession(
    KnownError,
    code="CANNOT_DELETE_CURRENT_SESSION",
    status=400,
    message="The current session cannot be deleted this way; sign out instead.",
):
    pass


class AnonymousAuthenticationNotAllowed(
    KnownError,
    code="ANONYMOUS_AUTHENTICATION_NOT_ALLOWED",
    status=401,
    message=(
        "Anonymous users are not allowed here;"
        " send x-stack-allow-anonymous-user: true to permit them."
    ),
):
    pass


class RestrictedUserNotAllowed(
    KnownError,
    code="RESTRICTED_USER_NOT_ALLOWED",
    status=403,
    message=(
        "Restricted users are not allowed here; send x-stack-allow-restricted-user: true to allow."
    ),
):
    # Takes a text like an error without details (a field-made ``__init__`` would not).
    def __init__(
        self, text: str | None = None, /, *, restricted_reason: dict[str, str] | None
    ) -> None:
        super().__init__(text)
        self.details = {"restricted_reason": restricted_reason}
