"""Team, membership and member-profile records, their changes and their wire shapes (§5.4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET, UnsetType

from authstack_core.models.shapes import Audience, millis

if TYPE_CHECKING:  # users.py builds a TeamRow for the selected team: no import at run time
    from authstack_core.models.config import ProjectConfig
    from authstack_core.models.users import UserRow


@dataclass(slots=True)
class TeamRow:
    id: str
    display_name: str
    profile_image_url: str | None
    client_metadata: Any
    client_read_only_metadata: Any
    server_metadata: Any
    created_at: datetime

    def json(self, audience: Audience) -> dict[str, Any]:
        """The team as ``audience`` sees it (a user's ``selected_team`` is this shape too)."""
        out: dict[str, Any] = {
            "id": self.id,
            "display_name": self.display_name,
            "profile_image_url": self.profile_image_url,
            "client_metadata": self.client_metadata,
            "client_read_only_metadata": self.client_read_only_metadata,
        }
        if audience != "client":
            out["server_metadata"] = self.server_metadata
            out["created_at_millis"] = millis(self.created_at)
        return out


@dataclass(frozen=True, slots=True)
class NewTeam:
    display_name: str
    profile_image_url: str | None = None
    client_metadata: Any = None
    client_read_only_metadata: Any = None
    server_metadata: Any = None


class TeamChanges(msgspec.Struct, kw_only=True):
    """A team PATCH; UNSET leaves a column as is. Field names are the ``teams`` columns."""

    display_name: str | UnsetType = UNSET
    profile_image_url: str | None | UnsetType = UNSET
    client_metadata: Any | UnsetType = UNSET
    client_read_only_metadata: Any | UnsetType = UNSET
    server_metadata: Any | UnsetType = UNSET


def membership_json(team_id: str, user_id: str) -> dict[str, Any]:
    """A membership on the wire and in its webhook events."""
    return {"team_id": team_id, "user_id": user_id}


@dataclass(slots=True)
class MemberProfile:
    """A member's per-team profile; the name and image fall back to the user's own."""

    team_id: str
    user_id: str
    display_name: str | None
    profile_image_url: str | None
    user: UserRow

    def json(self, audience: Audience, config: ProjectConfig) -> dict[str, Any]:
        out: dict[str, Any] = {
            "team_id": self.team_id,
            "user_id": self.user_id,
            "display_name": self.display_name,
            "profile_image_url": self.profile_image_url,
        }
        if audience != "client":
            out["user"] = self.user.json(audience, config)
        return out


class MemberProfileChanges(msgspec.Struct, kw_only=True):
    """A member-profile PATCH; UNSET leaves a field as is, None falls back to the user's own."""

    display_name: str | UnsetType = UNSET
    profile_image_url: str | None | UnsetType = UNSET
