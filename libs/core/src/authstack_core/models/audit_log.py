"""Audit log records: who acted (the actor), on what (the target), and the page cursor."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from authstack_core.models.shapes import millis

ActorType = Literal["admin_user", "server_key", "admin_key", "client_user"]
Action = Literal[
    "session.impersonation_started",
    "project.config_updated",
    "project.updated",
    "key_set.created",
    "key_set.revoked",
    "user.deleted",
    "user.restricted",
    "user.unrestricted",
]
ACTIONS: tuple[Action, ...] = Action.__args__  # type: ignore[attr-defined]
TargetType = Literal["user", "project", "key_set"]
MAX_USER_AGENT = 512
MAX_IP = 64


@dataclass(frozen=True, slots=True)
class Actor:
    """Who a request acts as: the kind of credential, the user behind it (the dashboard user
    behind an admin access token, or the signed-in user of a client request), and where the
    request came from (the address the edge middleware trusts, and the User-Agent)."""

    type: ActorType
    user_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None

    @classmethod
    def of(
        cls, type_: ActorType, user_id: str | None, ip: str | None, user_agent: str | None
    ) -> Actor:
        """An actor with its address and User-Agent cut to what the log stores."""
        return cls(
            type_,
            user_id,
            ip[:MAX_IP] if ip else None,
            user_agent[:MAX_USER_AGENT] if user_agent else None,
        )


@dataclass(frozen=True, slots=True)
class Target:
    type: TargetType
    id: str | None


@dataclass(slots=True)
class AuditLogRow:
    id: uuid.UUID
    created_at: datetime
    action: str
    actor_type: str
    actor_user_id: uuid.UUID | None
    actor_ip: str | None
    actor_user_agent: str | None
    target_type: str
    target_id: str | None
    details: dict[str, Any]

    def json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "created_at_millis": millis(self.created_at),
            "action": self.action,
            "actor": {
                "type": self.actor_type,
                "user_id": str(self.actor_user_id) if self.actor_user_id else None,
                "ip": self.actor_ip,
                "user_agent": self.actor_user_agent,
            },
            "target": {"type": self.target_type, "id": self.target_id},
            "details": self.details,
        }

    def cursor(self) -> str:
        return encode_cursor(self.created_at, self.id)


# A cursor is the (created_at, id) of the last row of a page, opaque to clients: base64url of
# "<microseconds since the epoch>.<id>". It only positions a page inside the caller's tenancy.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    micros = (created_at - _EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(f"{micros}.{row_id}".encode()).decode().rstrip("=")


def decode_cursor(text: str) -> tuple[datetime, uuid.UUID] | None:
    """The position a cursor names, or None when it is not one of ours."""
    if len(text) > 128:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        micros, _, row_id = raw.partition(".")
        if not micros.lstrip("-").isdigit():
            return None
        return _EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        return None
