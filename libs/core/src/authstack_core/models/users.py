"""User records and their wire shapes (contract §5.3)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass(slots=True)
class UserRow:
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

    def restricted_reason(self, *, require_email_verification: bool) -> dict[str, str] | None:
        """Why the user is restricted, or None; an anonymous user is always restricted."""
        if self.is_anonymous:
            return {"type": "anonymous"}
        if require_email_verification and not self.primary_email_verified:
            return {"type": "email_not_verified"}
        if self.restricted_by_admin:
            return {"type": "restricted_by_administrator"}
        return None

    def client_team(self) -> dict[str, Any] | None:
        if self.team_id is None:
            return None
        return {
            "id": self.team_id,
            "display_name": self.team_display_name,
            "profile_image_url": self.team_profile_image_url,
            "client_metadata": self.team_client_metadata,
            "client_read_only_metadata": self.team_client_read_only_metadata,
        }

    def server_team(self) -> dict[str, Any] | None:
        team = self.client_team()
        if team is None:
            return None
        assert self.team_created_at is not None
        return {
            **team,
            "server_metadata": self.team_server_metadata,
            "created_at_millis": millis(self.team_created_at),
        }

    def client_json(self, *, require_email_verification: bool) -> dict[str, Any]:
        reason = self.restricted_reason(require_email_verification=require_email_verification)
        return {
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
            "oauth_providers": [],
            "selected_team_id": self.team_id,
            "selected_team": self.client_team(),
            "requires_totp_mfa": self.requires_totp_mfa,
            "otp_auth_enabled": self.otp_auth_enabled,
            "passkey_auth_enabled": self.passkey_auth_enabled,
            "is_anonymous": self.is_anonymous,
            "is_restricted": reason is not None,
            "restricted_reason": reason,
            "restricted_by_admin": self.restricted_by_admin,
            "restricted_by_admin_reason": self.restricted_by_admin_reason,
        }

    def server_json(self, *, require_email_verification: bool) -> dict[str, Any]:
        out = self.client_json(require_email_verification=require_email_verification)
        out.update(
            selected_team=self.server_team(),
            primary_email_auth_enabled=self.primary_email_auth_enabled,
            server_metadata=self.server_metadata,
            last_active_at_millis=millis(self.last_active_at),
            restricted_by_admin_private_details=self.restricted_by_admin_private_details,
            country_code=self.country_code,
            risk_scores={
                "sign_up": {
                    "bot": self.risk_score_bot,
                    "free_trial_abuse": self.risk_score_free_trial_abuse,
                }
            },
        )
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
    passkey_auth_enabled: bool = False
    is_anonymous: bool = False
    restricted_by_admin: bool = False
    restricted_by_admin_reason: str | None = None
    restricted_by_admin_private_details: str | None = None
    country_code: str | None = None
    risk_score_bot: int = 0
    risk_score_free_trial_abuse: int = 0
    user_id: uuid.UUID | None = None
    totp_secret: bytes | None = None  # raw bytes; a user with one needs TOTP to sign in
