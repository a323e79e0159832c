"""Notification categories (upstream's fixed two) and a user's preference for one, on the wire."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class NotificationCategory:
    id: uuid.UUID
    name: str
    default_enabled: bool
    can_disable: bool

    def item(self, enabled: bool | None) -> dict[str, Any]:
        """The preference item of ``GET /emails/notification-preference/{user_id}``; ``enabled``
        None: the user never chose, the default holds."""
        return {
            "notification_category_id": str(self.id),
            "notification_category_name": self.name,
            "enabled": self.default_enabled if enabled is None else enabled,
            "can_disable": self.can_disable,
        }


# Upstream's ids and names (lib/notification-categories.ts): every built-in auth email is
# Transactional and always sent; Marketing may be turned off by the user.
TRANSACTIONAL = NotificationCategory(
    uuid.UUID("7bb82d33-2f54-4a3d-9d23-82739e0d66ef"),
    "Transactional",
    default_enabled=True,
    can_disable=False,
)
MARKETING = NotificationCategory(
    uuid.UUID("4f6f8873-3d04-46bd-8bef-18338b1a1b4c"),
    "Marketing",
    default_enabled=True,
    can_disable=True,
)
CATEGORIES: tuple[NotificationCategory, ...] = (TRANSACTIONAL, MARKETING)
_BY_ID = {c.id: c for c in CATEGORIES}
_BY_NAME = {c.name: c for c in CATEGORIES}


def category_by_id(category_id: uuid.UUID | str) -> NotificationCategory | None:
    try:
        key = category_id if isinstance(category_id, uuid.UUID) else uuid.UUID(category_id)
    except ValueError:
        return None
    return _BY_ID.get(key)


def category_by_name(name: str) -> NotificationCategory | None:
    return _BY_NAME.get(name)
