"""Errors of passkey (WebAuthn) registration and sign-in."""

# Class names are upstream's KnownErrors names (the ones the SDK uses), not Python's *Error style.
# ruff: noqa: N818

from __future__ import annotations

from authstack_core.errors.base import KnownError, PlainError


class PasskeyAuthenticationNotEnabled(
    KnownError,
    code="PASSKEY_AUTHENTICATION_NOT_ENABLED",
    status=400,
    message="Passkey authentication is not enabled for this project.",
):
    pass


class _PasskeyCeremonyFailed(KnownError):
    """A ceremony refused, with a text saying why (never naming another user or credential).

    Upstream builds these errors from a message alone and sends no details, yet the SDK rebuilds
    them from ``details.message`` (``constructorArgsFromJson``), so an answer without details
    breaks its parser; the text goes in both places, as SCHEMA_ERROR's does.
    """

    def __init__(self, *, message: str | None = None) -> None:
        super().__init__(message)
        self.details = {"message": self.text}


class PasskeyRegistrationFailed(
    _PasskeyCeremonyFailed,
    code="PASSKEY_REGISTRATION_FAILED",
    status=400,
    message="Passkey registration failed.",
):
    pass


class PasskeyAuthenticationFailed(
    _PasskeyCeremonyFailed,
    code="PASSKEY_AUTHENTICATION_FAILED",
    status=400,
    message="Passkey authentication failed.",
):
    pass


class PasskeyCannotBeEnabledManually(
    PlainError,
    status=400,
    message="Cannot manually enable passkey auth, it is enabled iff there is a passkey auth method",
):
    """``passkey_auth_enabled: true`` in a user PATCH (upstream's text): a passkey is added by
    registering one, never by a flag."""
