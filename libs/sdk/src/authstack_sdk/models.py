"""Typed records of what the server API answers, each built from its wire JSON by ``from_wire``.

Times stay as the wire's milliseconds since the epoch (``*_millis``) so nothing is lost; every
record keeps the whole object it came from in ``raw`` for fields newer than this SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

Json = Mapping[str, Any]


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Team:
    """A team as the server sees it."""

    id: str
    display_name: str
    profile_image_url: str | None
    created_at_millis: int | None
    client_metadata: Any
    client_read_only_metadata: Any
    server_metadata: Any
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: Json) -> Team:
        return cls(
            id=data["id"],
            display_name=data["display_name"],
            profile_image_url=data.get("profile_image_url"),
            created_at_millis=data.get("created_at_millis"),
            client_metadata=data.get("client_metadata"),
            client_read_only_metadata=data.get("client_read_only_metadata"),
            server_metadata=data.get("server_metadata"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class OAuthProvider:
    """An OAuth account linked to a user."""

    id: str
    account_id: str
    email: str | None


@dataclass(frozen=True, slots=True)
class User:
    """A user as the server sees it (the server read object of the contract)."""

    id: str
    primary_email: str | None
    primary_email_verified: bool
    primary_email_auth_enabled: bool
    display_name: str | None
    profile_image_url: str | None
    signed_up_at_millis: int
    last_active_at_millis: int | None
    has_password: bool
    otp_auth_enabled: bool
    passkey_auth_enabled: bool
    selected_team_id: str | None
    selected_team: Team | None
    client_metadata: Any
    client_read_only_metadata: Any
    server_metadata: Any
    is_anonymous: bool
    is_restricted: bool
    restricted_reason: Mapping[str, Any] | None
    restricted_by_admin: bool
    restricted_by_admin_reason: str | None
    country_code: str | None
    oauth_providers: tuple[OAuthProvider, ...]
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: Json) -> User:
        team = data.get("selected_team")
        return cls(
            id=data["id"],
            primary_email=data.get("primary_email"),
            primary_email_verified=bool(data.get("primary_email_verified")),
            primary_email_auth_enabled=bool(data.get("primary_email_auth_enabled")),
            display_name=data.get("display_name"),
            profile_image_url=data.get("profile_image_url"),
            signed_up_at_millis=data["signed_up_at_millis"],
            last_active_at_millis=data.get("last_active_at_millis"),
            has_password=bool(data.get("has_password")),
            otp_auth_enabled=bool(data.get("otp_auth_enabled")),
            passkey_auth_enabled=bool(data.get("passkey_auth_enabled")),
            selected_team_id=data.get("selected_team_id"),
            selected_team=Team.from_wire(team) if team else None,
            client_metadata=data.get("client_metadata"),
            client_read_only_metadata=data.get("client_read_only_metadata"),
            server_metadata=data.get("server_metadata"),
            is_anonymous=bool(data.get("is_anonymous")),
            is_restricted=bool(data.get("is_restricted")),
            restricted_reason=data.get("restricted_reason"),
            restricted_by_admin=bool(data.get("restricted_by_admin")),
            restricted_by_admin_reason=data.get("restricted_by_admin_reason"),
            country_code=data.get("country_code"),
            oauth_providers=tuple(
                OAuthProvider(p["id"], p["account_id"], p.get("email"))
                for p in data.get("oauth_providers") or ()
            ),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class TeamMemberProfile:
    """A member's per-team profile, with the member's user."""

    team_id: str
    user_id: str
    display_name: str | None
    profile_image_url: str | None
    user: User | None
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: Json) -> TeamMemberProfile:
        user = data.get("user")
        return cls(
            team_id=data["team_id"],
            user_id=data["user_id"],
            display_name=data.get("display_name"),
            profile_image_url=data.get("profile_image_url"),
            user=User.from_wire(user) if user else None,
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class Permission:
    """A permission a user holds: in a team (``team_id`` set) or project-wide."""

    id: str
    user_id: str
    team_id: str | None

    @classmethod
    def from_wire(cls, data: Json) -> Permission:
        return cls(id=data["id"], user_id=data["user_id"], team_id=_opt_str(data.get("team_id")))


@dataclass(frozen=True, slots=True)
class SessionTokens:
    """The tokens of a session created for a user by the server."""

    access_token: str
    refresh_token: str = field(repr=False)

    @classmethod
    def from_wire(cls, data: Json) -> SessionTokens:
        return cls(access_token=data["access_token"], refresh_token=data["refresh_token"])


@dataclass(frozen=True, slots=True)
class Session:
    """One of a user's sessions (a refresh token), as listed."""

    id: str
    user_id: str
    created_at_millis: int
    is_impersonation: bool
    last_used_at_millis: int | None
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: Json) -> Session:
        return cls(
            id=data["id"],
            user_id=data["user_id"],
            created_at_millis=data["created_at"],
            is_impersonation=bool(data.get("is_impersonation")),
            last_used_at_millis=data.get("last_used_at"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A user or team API key. ``value`` holds the whole key only in the answer that created it;
    later answers show its ``last_four`` characters only."""

    id: str
    type: Literal["user", "team"]
    user_id: str | None
    team_id: str | None
    description: str
    is_public: bool
    created_at_millis: int
    expires_at_millis: int | None
    manually_revoked_at_millis: int | None
    value: str | None = field(repr=False)
    last_four: str | None
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: Json) -> ApiKey:
        value = data.get("value")
        full = value if isinstance(value, str) else None
        last_four = full[-4:] if full is not None else (value or {}).get("last_four")
        return cls(
            id=data["id"],
            type=data["type"],
            user_id=data.get("user_id"),
            team_id=data.get("team_id"),
            description=data.get("description", ""),
            is_public=bool(data.get("is_public")),
            created_at_millis=data["created_at_millis"],
            expires_at_millis=data.get("expires_at_millis"),
            manually_revoked_at_millis=data.get("manually_revoked_at_millis"),
            value=full,
            last_four=last_four,
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class ContactChannel:
    """An email address of a user."""

    id: str
    user_id: str
    type: str
    value: str
    is_primary: bool
    is_verified: bool
    used_for_auth: bool

    @classmethod
    def from_wire(cls, data: Json) -> ContactChannel:
        return cls(
            id=data["id"],
            user_id=data["user_id"],
            type=data["type"],
            value=data["value"],
            is_primary=bool(data.get("is_primary")),
            is_verified=bool(data.get("is_verified")),
            used_for_auth=bool(data.get("used_for_auth")),
        )


# --- request fields: keyword arguments of the create and update methods, by wire name ----------


class RiskScores(TypedDict):
    bot: int
    free_trial_abuse: int


class SignUpRiskScores(TypedDict):
    sign_up: RiskScores


class UserUpdate(TypedDict, total=False):
    """Fields of ``update_user``; only those passed are sent (``None`` clears where allowed)."""

    display_name: str | None
    profile_image_url: str | None
    primary_email: str | None
    primary_email_verified: bool
    primary_email_auth_enabled: bool
    password: str | None
    password_hash: str | None
    selected_team_id: str | None
    client_metadata: Any
    client_read_only_metadata: Any
    server_metadata: Any
    otp_auth_enabled: bool
    passkey_auth_enabled: bool
    totp_secret_base64: str | None
    restricted_by_admin: bool
    restricted_by_admin_reason: str | None
    restricted_by_admin_private_details: str | None
    country_code: str | None
    risk_scores: SignUpRiskScores


class OAuthProviderInput(TypedDict):
    id: str
    account_id: str
    email: str | None


class UserCreate(TypedDict, total=False):
    """Fields of ``create_user``; all optional."""

    display_name: str | None
    profile_image_url: str | None
    primary_email: str | None
    primary_email_verified: bool
    primary_email_auth_enabled: bool
    password: str | None
    password_hash: str | None
    client_metadata: Any
    client_read_only_metadata: Any
    server_metadata: Any
    otp_auth_enabled: bool
    totp_secret_base64: str | None
    is_anonymous: bool
    restricted_by_admin: bool
    restricted_by_admin_reason: str | None
    restricted_by_admin_private_details: str | None
    country_code: str | None
    risk_scores: SignUpRiskScores
    oauth_providers: list[OAuthProviderInput]


class TeamFields(TypedDict, total=False):
    """Optional fields of ``create_team`` and ``update_team``."""

    profile_image_url: str | None
    client_metadata: Any
    client_read_only_metadata: Any
    server_metadata: Any


class TeamUpdate(TeamFields, total=False):
    display_name: str


class ContactChannelUpdate(TypedDict, total=False):
    """Fields of ``update_contact_channel``; only those passed are sent."""

    value: str
    used_for_auth: bool
    is_primary: bool
    is_verified: bool
