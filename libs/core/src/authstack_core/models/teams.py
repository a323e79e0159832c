"""Team, membership and member-profile records and their wire shapes (contract §5.4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authstack_core.models.users import UserRow, millis


@dataclass(slots=True)
class TeamRow:
    id: str
    display_name: str
    profile_image_url: str | None
    client_metadata: Any
    client_read_only_metadata: Any
    server_metadata: Any
    created_at: datetime

    def client_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "display_name": self.display_name,
            "profile_image_url": self.profile_image_url,
            "client_metadata": self.client_metadata,
            "client_read_only_metadata": self.client_read_only_metadata,
        }

    def server_json(self) -> dict[str, Any]:
        return {
            **self.client_json(),
            "server_metadata": self.server_metadata,
            "created_at_millis": millis(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class NewTeam:
    display_name: str
    profile_image_url: str | None = None
    client_metadata: Any = None
    client_read_only_metadata: Any = None
    server_metadata: Any = None


@dataclass(slots=True)
class MemberProfile:
    """A member's per-team profile; the name and image fall back to the user's own."""

    team_id: str
    user_id: str
    display_name: str | None
    profile_image_url: str | None
    user: UserRow

    def client_json(self) -> dict[str, Any]:
        return {
            "team_id": self.team_id,
            "user_id": self.user_id,
            "display_name": self.display_name,
            "profile_image_url": self.profile_image_url,
        }

    def server_json(self, *, require_email_verification: bool) -> dict[str, Any]:
        return {
            **self.client_json(),
            "user": self.user.server_json(require_email_verification=require_email_verification),
        }
