"""Errors about projects, their API keys and OAuth clients."""

# Class names are upstream's KnownErrors names (the ones the SDK uses), not Python's *Error style.
# ruff: noqa: N818

from __future__ import annotations

from authstack_core.errors.base import KnownError, PlainError


# --- API keys and OAuth clients -------------------------------------------------------------------
class ApiKeyNotFound(
    KnownError, code="API_KEY_NOT_FOUND", status=404, message="API key not found."
):
    pass


class ApiKeyRevoked(
    KnownError, code="API_KEY_REVOKED", status=401, message="This API key has been revoked."
):
    pass


class ApiKeyExpired(
    KnownError, code="API_KEY_EXPIRED", status=401, message="This API key has expired."
):
    pass


class WrongApiKeyType(
    KnownError,
    code="WRONG_API_KEY_TYPE",
    status=400,
    message="This endpoint checks another type of API key.",
):
    expected_type: str
    actual_type: str


class InvalidOauthClientIdOrSecret(
    KnownError,
    code="INVALID_OAUTH_CLIENT_ID_OR_SECRET",
    status=400,
    message="The OAuth client id or secret is not valid.",
):
    client_id: str


class ProjectNotFound(
    KnownError, code="PROJECT_NOT_FOUND", status=404, message="Project not found."
):
    project_id: str


# --- plain errors (text/plain) --------------------------------------------------------------------
class InternalProjectUndeletable(
    PlainError, status=400, message="The internal project cannot be deleted."
):
    pass


class InvalidEmailTheme(PlainError, status=400, message="Invalid email theme"):
    """The legacy ``email_theme`` names neither a built-in theme nor one of the project's."""


class ProjectWithoutOwnerTeam(
    PlainError, status=400, message="Project must have an owner team to be transferred."
):
    pass


class ApiKeySetNotFound(PlainError, status=404, message="API key set not found."):
    pass


class ApiKeysNotEnabled(PlainError, status=400):
    """User or team API keys (``key_type``) are switched off in the project's config."""

    def __init__(self, key_type: str) -> None:
        super().__init__(f"{key_type.capitalize()} API keys are not enabled for this project.")


class NotOwnApiKeys(PlainError, status=403, message="A client can only manage its own API keys."):
    pass
