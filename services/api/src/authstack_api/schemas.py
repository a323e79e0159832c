"""Request bodies: msgspec structs that refuse unknown fields (SCHEMA_ERROR), as upstream does."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import UNSET, Meta, UnsetType

from authstack_core.errors import SchemaError

T = TypeVar("T")

# Strict enough to refuse obvious garbage; delivery is the real test of an address.
Email = Annotated[
    str,
    Meta(
        max_length=256,
        pattern=r"^[^\s@\"<>()\[\],;:\\]+@[^\s@\"<>()\[\],;:\\]+\.[^\s@\"<>()\[\],;:\\.]+$",
    ),
]
Password = Annotated[str, Meta(max_length=4096)]  # rules (8-70) give their own errors
DisplayName = Annotated[str, Meta(max_length=256)]
Url = Annotated[str, Meta(max_length=4096)]
Score = Annotated[int, Meta(ge=0, le=100)]
# The shape (45 base32 characters, any case) is checked where the code is used.
VerificationCode = Annotated[str, Meta(max_length=64)]


class Strict(msgspec.Struct, forbid_unknown_fields=True):
    pass


class SignUpBody(Strict):
    email: Email
    password: Password
    verification_callback_url: Url | None = None
    bot_challenge_token: str | None = None
    bot_challenge_phase: str | None = None
    bot_challenge_unavailable: str | None = None


class CodeBody(Strict):
    """The body of every ``.../check-code`` endpoint and of code-only actions."""

    code: VerificationCode


class SignInBody(Strict):
    email: Email
    password: Password


class CreateSessionBody(Strict):
    user_id: str
    expires_in_millis: Annotated[int, Meta(ge=1, le=367 * 86_400_000)] | None = None
    is_impersonation: bool = False


class SignUpRiskScores(Strict):
    bot: Score
    free_trial_abuse: Score


class RiskScores(Strict):
    sign_up: SignUpRiskScores


class ClientUserUpdate(Strict):
    display_name: DisplayName | None | UnsetType = UNSET
    profile_image_url: Url | None | UnsetType = UNSET
    client_metadata: Any | UnsetType = UNSET
    selected_team_id: str | None | UnsetType = UNSET
    totp_secret_base64: str | None | UnsetType = UNSET
    otp_auth_enabled: bool | UnsetType = UNSET
    passkey_auth_enabled: bool | UnsetType = UNSET
    primary_email: Email | UnsetType = UNSET


class ServerUserUpdate(Strict):
    display_name: DisplayName | None | UnsetType = UNSET
    profile_image_url: Url | None | UnsetType = UNSET
    client_metadata: Any | UnsetType = UNSET
    client_read_only_metadata: Any | UnsetType = UNSET
    server_metadata: Any | UnsetType = UNSET
    selected_team_id: str | None | UnsetType = UNSET
    totp_secret_base64: str | None | UnsetType = UNSET
    otp_auth_enabled: bool | UnsetType = UNSET
    passkey_auth_enabled: bool | UnsetType = UNSET
    primary_email: Email | None | UnsetType = UNSET
    primary_email_verified: bool | UnsetType = UNSET
    primary_email_auth_enabled: bool | UnsetType = UNSET
    password: Password | None | UnsetType = UNSET
    password_hash: str | None | UnsetType = UNSET
    is_anonymous: bool | UnsetType = UNSET
    restricted_by_admin: bool | UnsetType = UNSET
    restricted_by_admin_reason: str | None | UnsetType = UNSET
    restricted_by_admin_private_details: str | None | UnsetType = UNSET
    country_code: Annotated[str, Meta(pattern=r"^[A-Z]{2}$")] | None | UnsetType = UNSET
    risk_scores: RiskScores | UnsetType = UNSET


class OAuthProviderInput(Strict):
    id: str
    account_id: str
    email: str | None = None


class ServerUserCreate(Strict):
    display_name: DisplayName | None = None
    profile_image_url: Url | None = None
    client_metadata: Any = None
    client_read_only_metadata: Any = None
    server_metadata: Any = None
    totp_secret_base64: str | None = None
    otp_auth_enabled: bool = False
    passkey_auth_enabled: bool = False
    primary_email: Email | None = None
    primary_email_verified: bool = False
    primary_email_auth_enabled: bool = False
    password: Password | None = None
    password_hash: str | None = None
    is_anonymous: bool = False
    restricted_by_admin: bool = False
    restricted_by_admin_reason: str | None = None
    restricted_by_admin_private_details: str | None = None
    country_code: Annotated[str, Meta(pattern=r"^[A-Z]{2}$")] | None = None
    risk_scores: RiskScores | None = None
    oauth_providers: list[OAuthProviderInput] | None = None


def changes_of(update: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body actually sent, as plain values."""
    out: dict[str, Any] = {}
    for name in update.__struct_fields__:
        value = getattr(update, name)
        if value is not UNSET:
            out[name] = msgspec.to_builtins(value) if isinstance(value, msgspec.Struct) else value
    return out


def convert(data: Any, model: type[T], where: str) -> T:
    """Validate an already-decoded body against ``model``; raise SCHEMA_ERROR on mismatch."""
    try:
        return msgspec.convert(data, model)
    except msgspec.ValidationError as exc:
        raise SchemaError(message=f"Request validation failed on {where}:\n  - {exc}") from None
