"""Contact channel records and their wire shape (contract §5.4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class ContactChannelRow:
    user_id: str
    id: str
    type: str
    value: str
    is_primary: bool
    is_verified: bool
    used_for_auth: bool
    created_at: datetime

    def json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "id": self.id,
            "value": self.value,
            "type": self.type,
            "used_for_auth": self.used_for_auth,
            "is_verified": self.is_verified,
            "is_primary": self.is_primary,
        }
