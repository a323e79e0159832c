"""Session (refresh token) records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authstack_core.models.shapes import millis
from authstack_core.models.users import Restrictable


@dataclass(slots=True)
class SessionRow:
    id: str
    user_id: str
    created_at: datetime
    last_active_at: datetime
    is_impersonation: bool
    last_active_ip_info: Any

    def json(self, *, current_refresh_token_id: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "user_id": self.user_id,
            "created_at": millis(self.created_at),
            "is_impersonation": self.is_impersonation,
            "last_used_at": millis(self.last_active_at),
            "is_current_session": self.id == current_refresh_token_id,
        }
        if self.last_active_ip_info is not None:
            out["last_used_at_end_user_ip_info"] = self.last_active_ip_info
        return out


@dataclass(slots=True)
class TokenClaimsRow(Restrictable):
    """What an access token says about its user, read in the same statement as the refresh."""

    refresh_token_id: str
    user_id: str
    display_name: str | None
    primary_email: str | None
    primary_email_verified: bool
    selected_team_id: str | None
    signed_up_at: datetime
    is_anonymous: bool
    restricted_by_admin: bool
    requires_totp_mfa: bool
    is_impersonation: bool  # of the session: its tokens carry the claim
