"""The verified contents of an access token, as a typed object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from authstack_sdk.token_errors import InvalidTokenError


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    """What a verified access token says about its user and session.

    Times are Unix seconds. ``raw`` keeps every claim, including ones this class does not name.
    """

    user_id: str
    project_id: str
    branch_id: str
    refresh_token_id: str | None
    role: str | None
    display_name: str | None
    primary_email: str | None
    primary_email_verified: bool
    selected_team_id: str | None
    is_anonymous: bool
    is_restricted: bool
    # "anonymous", "email_not_verified" or "restricted_by_administrator"; None when unrestricted.
    restricted_reason: str | None
    requires_totp_mfa: bool
    # The session was started by an administrator acting as the user (authstack servers only).
    is_impersonation: bool
    signed_up_at: int | None
    issued_at: int
    expires_at: int
    issuer: str
    audience: str
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def expires_at_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.expires_at, UTC)


def _optional_str(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InvalidTokenError(f"claim {name!r} is not a string")


def _int(payload: Mapping[str, Any], name: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidTokenError(f"claim {name!r} is not a number")
    return int(value)


def claims_from_payload(payload: Mapping[str, Any]) -> AccessTokenClaims:
    """Build the claims object from a payload whose signature, issuer, audience and expiry were
    already checked; raise InvalidTokenError if a claim has the wrong type."""
    reason = payload.get("restricted_reason")
    reason_type = reason.get("type") if isinstance(reason, dict) else None
    is_anonymous = payload.get("is_anonymous") is True
    signed_up_at = payload.get("signed_up_at")
    return AccessTokenClaims(
        user_id=str(payload["sub"]),
        project_id=str(payload["project_id"]),
        branch_id=str(payload.get("branch_id", "main")),
        refresh_token_id=_optional_str(payload, "refresh_token_id"),
        role=_optional_str(payload, "role"),
        display_name=_optional_str(payload, "name"),
        primary_email=_optional_str(payload, "email"),
        primary_email_verified=payload.get("email_verified") is True,
        selected_team_id=_optional_str(payload, "selected_team_id"),
        is_anonymous=is_anonymous,
        # An anonymous user is always restricted, whatever an old token says.
        is_restricted=payload.get("is_restricted") is True or is_anonymous,
        restricted_reason=reason_type if isinstance(reason_type, str) else None,
        requires_totp_mfa=payload.get("requires_totp_mfa") is True,
        is_impersonation=payload.get("is_impersonation") is True,
        signed_up_at=_int(payload, "signed_up_at") if signed_up_at is not None else None,
        issued_at=_int(payload, "iat"),
        expires_at=_int(payload, "exp"),
        issuer=str(payload["iss"]),
        audience=str(payload["aud"]),
        raw=payload,
    )
