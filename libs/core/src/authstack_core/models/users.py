"""User records, their changes and their wire shapes (contract §5.3)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from authstack_core.models.config import ProjectConfig
from authstack_core.models.oauth import NewOAuthAccount
from authstack_core.models.shapes import Audience, millis
from authstack_core.models.teams import TeamRow


class Restrictable:
    """A row that tells whether its user is restricted (a user, or an access token's claims)."""

    __slots__ = ()
    is_anonymous: bool
    primary_email_verified: bool
    restricted_by_admin: bool

    def restricted_reason(self, *, require_email_verification: bool) -> dict[str, str] | None:
        """Why the user is restricted, or None; an anonymous user is always restricted."""
        if self.is_anonymous:
            return {"type": "anonymous"}
        if require_email_verification and not self.primary_email_verified:
            return {"type": "email_not_verified"}
        if self.restricted_by_admin:
            return {"type": "restricted_by_administrator"}
        return None


@dataclass(slots=True)
class UserRow(Restrictable):
    """A user joined with its primary email, password flag and selected team."""

    id: str
    display_name: str | None
    profile_image_url: str | None
    client_metadata: Any
    client_read_only_metadata: Any
    server_metadata: Any
    requires_totp_mfa: bool
    otp_auth_enabled: bool
    passkey_auth_enabled: bool
    is_anonymous: bool
    restricted_by_admin: bool
    restricted_by_admin_reason: str | None
    restricted_by_admin_private_details: str | None
    country_code: str | None
    risk_score_bot: int
    risk_score_free_trial_abuse: int
    signed_up_at: datetime
    last_active_at: datetime
    primary_email: str | None
    primary_email_verified: bool
    primary_email_auth_enabled: bool
    has_password: bool
    team_id: str | None
    team_display_name: str | None
    team_profile_image_url: str | None
    team_client_metadata: Any
    team_client_read_only_metadata: Any
    team_server_metadata: Any
    team_created_at: datetime | None
    # The linked provider accounts, oldest first: [{id, account_id, email}] (contract §5.3).
    oauth_providers: list[dict[str, Any]]

    def selected_team(self) -> TeamRow | None:
        if self.team_id is None:
            return None
        assert self.team_display_name is not None
        assert self.team_created_at is not None
        return TeamRow(
            id=self.team_id,
            display_name=self.team_display_name,
            profile_image_url=self.team_profile_image_url,
            client_metadata=self.team_client_metadata,
            client_read_only_metadata=self.team_client_read_only_metadata,
            server_metadata=self.team_server_metadata,
            created_at=self.team_created_at,
        )

    def json(self, audience: Audience, config: ProjectConfig) -> dict[str, Any]:
        """The user as ``audience`` sees it under the project's ``config``."""
        reason = self.restricted_reason(
            require_email_verification=config.require_email_verification
        )
        team = self.selected_team()
        out = {
            "id": self.id,
            "primary_email": self.primary_email,
            "primary_email_verified": self.primary_email_verified,
            "display_name": self.display_name,
            "client_metadata": self.client_metadata,
            "client_read_only_metadata": self.client_read_only_metadata,
            "profile_image_url": self.profile_image_url,
            "signed_up_at_millis": millis(self.signed_up_at),
            "has_password": self.has_password,
            "auth_with_email": self.has_password or self.otp_auth_enabled,
            "oauth_providers": self.oauth_providers,
            "selected_team_id": self.team_id,
            "selected_team": team.json(audience) if team is not None else None,
            "requires_totp_mfa": self.requires_totp_mfa,
            "otp_auth_enabled": self.otp_auth_enabled,
            "passkey_auth_enabled": self.passkey_auth_enabled,
            "is_anonymous": self.is_anonymous,
            "is_restricted": reason is not None,
            "restricted_reason": reason,
            "restricted_by_admin": self.restricted_by_admin,
            "restricted_by_admin_reason": self.restricted_by_admin_reason,
        }
        if audience == "client":
            return out
        # The server shape adds fields after the client's, in this order.
        out["primary_email_auth_enabled"] = self.primary_email_auth_enabled
        out["server_metadata"] = self.server_metadata
        out["last_active_at_millis"] = millis(self.last_active_at)
        out["restricted_by_admin_private_details"] = self.restricted_by_admin_private_details
        out["country_code"] = self.country_code
        out["risk_scores"] = {
            "sign_up": {
                "bot": self.risk_score_bot,
                "free_trial_abuse": self.risk_score_free_trial_abuse,
            }
        }
        return out


@dataclass(frozen=True, slots=True)
class NewUser:
    """What creating a user takes, after validation; ``None`` means "not given"."""

    primary_email: str | None = None
    primary_email_verified: bool = False
    primary_email_auth_enabled: bool = False
    password_hash: str | None = None
    display_name: str | None = None
    profile_image_url: str | None = None
    client_metadata: Any = None
    client_read_only_metadata: Any = None
    server_metadata: Any = None
    otp_auth_enabled: bool = False
    # No passkey_auth_enabled: a user has a passkey only by registering one (domain.passkeys).
    is_anonymous: bool = False
    restricted_by_admin: bool = False
    restricted_by_admin_reason: str | None = None
    restricted_by_admin_private_details: str | None = None
    country_code: str | None = None
    risk_score_bot: int = 0
    risk_score_free_trial_abuse: int = 0
    user_id: uuid.UUID | None = None
    totp_secret: bytes | None = None  # raw bytes (sealed on insert); a user with one needs TOTP
    oauth_accounts: tuple[NewOAuthAccount, ...] = ()  # linked with the user (``POST /users``)


class SignUpRiskScores(msgspec.Struct):
    bot: int
    free_trial_abuse: int


class RiskScores(msgspec.Struct):
    sign_up: SignUpRiskScores


class _StoredAsSent(msgspec.Struct, kw_only=True):
    """User fields a PATCH stores as sent: one name on the wire and in ``users``."""

    display_name: str | None | UnsetType = UNSET
    profile_image_url: str | None | UnsetType = UNSET
    client_metadata: Any | UnsetType = UNSET
    client_read_only_metadata: Any | UnsetType = UNSET
    server_metadata: Any | UnsetType = UNSET
    otp_auth_enabled: bool | UnsetType = UNSET
    passkey_auth_enabled: bool | UnsetType = UNSET
    is_anonymous: bool | UnsetType = UNSET
    restricted_by_admin: bool | UnsetType = UNSET
    restricted_by_admin_reason: str | None | UnsetType = UNSET
    restricted_by_admin_private_details: str | None | UnsetType = UNSET
    country_code: str | None | UnsetType = UNSET


class UserColumns(_StoredAsSent, kw_only=True):
    """The ``users`` columns a PATCH may set (field name = column name); UNSET leaves one."""

    risk_score_bot: int | UnsetType = UNSET
    risk_score_free_trial_abuse: int | UnsetType = UNSET
    requires_totp_mfa: bool | UnsetType = UNSET
    totp_secret: bytes | None | UnsetType = UNSET
    totp_last_used_step: int | None | UnsetType = UNSET


class UserChanges(_StoredAsSent, kw_only=True):
    """A user PATCH as sent, by wire field name; UNSET leaves a field as is."""

    selected_team_id: str | None | UnsetType = UNSET
    totp_secret_base64: str | None | UnsetType = UNSET
    primary_email: str | None | UnsetType = UNSET
    primary_email_verified: bool | UnsetType = UNSET
    primary_email_auth_enabled: bool | UnsetType = UNSET
    password: str | None | UnsetType = UNSET
    password_hash: str | None | UnsetType = UNSET
    risk_scores: RiskScores | UnsetType = UNSET

    def columns(self) -> UserColumns:
        """The ``users`` columns set as sent, risk scores flattened. The TOTP secret is left to
        the domain, which parses it; the email, team and password live in other tables."""
        columns = UserColumns(
            **{name: getattr(self, name) for name in _StoredAsSent.__struct_fields__}
        )
        if self.risk_scores is not UNSET:
            columns.risk_score_bot = self.risk_scores.sign_up.bot
            columns.risk_score_free_trial_abuse = self.risk_scores.sign_up.free_trial_abuse
        return columns
