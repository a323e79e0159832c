"""Contact channel records, their changes and their wire shape (contract §5.4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType


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
        """The same shape for every audience: a client only ever reads its own user's."""
        return {
            "user_id": self.user_id,
            "id": self.id,
            "value": self.value,
            "type": self.type,
            "used_for_auth": self.used_for_auth,
            "is_verified": self.is_verified,
            "is_primary": self.is_primary,
        }


class ContactChannelChanges(msgspec.Struct, kw_only=True):
    """A channel PATCH; UNSET leaves a field as is."""

    value: str | UnsetType = UNSET
    type: str | UnsetType = UNSET
    used_for_auth: bool | UnsetType = UNSET
    is_primary: bool | UnsetType = UNSET
    is_verified: bool | UnsetType = UNSET
