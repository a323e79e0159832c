"""Team invitation records and their wire shape (contract §5.4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authstack_core.models.shapes import millis


@dataclass(slots=True)
class InvitationRow:
    id: str
    team_id: str
    team_display_name: str
    expires_at: datetime
    recipient_email: str

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": self.team_id,
            "team_display_name": self.team_display_name,
            "expires_at_millis": millis(self.expires_at),
            "recipient_email": self.recipient_email,
        }
