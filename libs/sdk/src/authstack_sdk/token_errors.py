"""Why an access token was refused: one exception per reason, each with the contract's code."""

from __future__ import annotations


class TokenVerificationError(Exception):
    """An access token could not be accepted. ``code`` is the matching contract error code and
    ``status`` the HTTP status a server would answer with."""

    code = "UNPARSABLE_ACCESS_TOKEN"
    status = 401


class InvalidTokenError(TokenVerificationError):
    """Malformed, forged (bad signature, unknown key, wrong algorithm) or from another issuer."""


class ExpiredTokenError(TokenVerificationError):
    """Signed by the project but past ``exp`` (beyond the leeway): the client should refresh it."""

    code = "ACCESS_TOKEN_EXPIRED"

    def __init__(self, message: str, *, expired_at: int) -> None:
        super().__init__(message)
        self.expired_at = expired_at


class WrongProjectTokenError(TokenVerificationError):
    """A token issued for another project (its ``aud``/``project_id`` name a different one)."""

    code = "INVALID_PROJECT_FOR_ACCESS_TOKEN"

    def __init__(self, message: str, *, expected_project_id: str, actual_project_id: str) -> None:
        super().__init__(message)
        self.expected_project_id = expected_project_id
        self.actual_project_id = actual_project_id


class AnonymousTokenError(TokenVerificationError):
    """A valid token of an anonymous user, refused because anonymous users were not allowed."""

    code = "ANONYMOUS_AUTHENTICATION_NOT_ALLOWED"


class RestrictedTokenError(TokenVerificationError):
    """A valid token of a restricted user (e.g. email not verified), refused because restricted
    users were not allowed."""

    code = "RESTRICTED_USER_NOT_ALLOWED"
    status = 403

    def __init__(self, message: str, *, restricted_reason: str | None) -> None:
        super().__init__(message)
        self.restricted_reason = restricted_reason


class JwksUnavailableError(TokenVerificationError):
    """The project's JWKS could not be fetched, so no token can be checked: a server-side
    problem (503), not the client's fault."""

    code = "JWKS_UNAVAILABLE"
    status = 503


class MissingTokenError(TokenVerificationError):
    """The request carries no access token at all (no header, no cookie)."""

    code = "USER_AUTHENTICATION_REQUIRED"
