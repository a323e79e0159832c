"""Project key sets: the publishable, secret server and super secret admin keys of a project."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authstack_core.models.api_keys import times_json

KEY_KINDS = ("publishable_client_key", "secret_server_key", "super_secret_admin_key")
KEY_PREFIXES = {
    "publishable_client_key": "pck",
    "secret_server_key": "ssk",
    "super_secret_admin_key": "sak",
}


@dataclass(slots=True)
class ApiKeySetRow:
    """A key set as stored: hashes are never read back, only the last four characters."""

    id: uuid.UUID
    description: str
    expires_at: datetime | None
    manually_revoked_at: datetime | None
    created_at: datetime
    publishable_client_key_last4: str | None
    secret_server_key_last4: str | None
    super_secret_admin_key_last4: str | None

    def json(self, full_keys: dict[str, str] | None = None) -> dict[str, Any]:
        """The admin read object; with ``full_keys`` (only at creation) the keys in plaintext."""
        out: dict[str, Any] = {
            "id": str(self.id),
            "description": self.description,
            **times_json(self),
        }
        for kind in KEY_KINDS:
            if full_keys is not None and kind in full_keys:
                out[kind] = full_keys[kind]
                continue
            last4 = getattr(self, f"{kind}_last4")
            if last4 is not None:
                out[kind] = {"last_four": last4}
        return out
