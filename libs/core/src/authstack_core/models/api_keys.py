"""User and team API key records and their wire shape (contract §5.4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from authstack_core.models.shapes import millis


class Expiring(Protocol):
    """A key or key set: created, and possibly expiring or revoked."""

    @property
    def created_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime | None: ...
    @property
    def manually_revoked_at(self) -> datetime | None: ...


def times_json(key: Expiring) -> dict[str, int]:
    """The key's times in milliseconds; expiry and revocation only when set."""
    out = {"created_at_millis": millis(key.created_at)}
    if key.expires_at is not None:
        out["expires_at_millis"] = millis(key.expires_at)
    if key.manually_revoked_at is not None:
        out["manually_revoked_at_millis"] = millis(key.manually_revoked_at)
    return out


@dataclass(slots=True)
class ApiKeyRow:
    id: str
    user_id: str | None
    team_id: str | None
    description: str
    is_public: bool
    last_four: str
    expires_at: datetime | None
    manually_revoked_at: datetime | None
    created_at: datetime

    @property
    def type(self) -> str:
        return "user" if self.user_id is not None else "team"

    def json(self, *, full_value: str | None = None) -> dict[str, Any]:
        """The read object; with ``full_value`` the creation response, the only one showing it."""
        out: dict[str, Any] = {
            "id": self.id,
            "description": self.description,
            "is_public": self.is_public,
            **times_json(self),
        }
        out["value"] = full_value if full_value is not None else {"last_four": self.last_four}
        out["type"] = self.type
        if self.user_id is not None:
            out["user_id"] = self.user_id
        else:
            out["team_id"] = self.team_id
        return out
