"""Webhook records: endpoints, deliveries being sent, attempts, and their wire shapes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from authstack_core.models.shapes import millis

# The events of contract §7.3 (upstream also sends project_permission.* without listing them).
EventType = Literal[
    "user.created",
    "user.updated",
    "user.deleted",
    "team.created",
    "team.updated",
    "team.deleted",
    "team_membership.created",
    "team_membership.deleted",
    "team_permission.created",
    "team_permission.deleted",
    "project_permission.created",
    "project_permission.deleted",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

# The lane of deliveries to the project's Svix application (Svix mode) in place of an endpoint id.
SVIX_LANE = uuid.UUID(int=0)
# The event a "send test event" carries (upstream's name and data).
TEST_EVENT_TYPE = "stack.test"


def test_payload(endpoint_url: str) -> dict[str, Any]:
    """The body of a "send test event" (upstream's ``stack.test`` and its data)."""
    return {
        "type": TEST_EVENT_TYPE,
        "data": {
            "message": "authstack webhook test event triggered from the dashboard.",
            "endpointUrl": endpoint_url,
        },
    }


def message_id(event_id: uuid.UUID) -> str:
    """The message id receivers see (``webhook-id``): one per event, the same on every retry
    and for every endpoint, Svix's ``msg_`` form."""
    return f"msg_{event_id.hex}"


def event_id_of(message: str) -> uuid.UUID | None:
    """The event a message id names; None for anything that is not one of ours."""
    if not message.startswith("msg_"):
        return None
    try:
        return uuid.UUID(hex=message.removeprefix("msg_"))
    except ValueError:
        return None


@dataclass(slots=True)
class EndpointRow:
    """A project's endpoint as the admin API shows it (the secret only when it is created).
    Its id is a UUID built in, Svix's ``ep_...`` in Svix mode."""

    id: uuid.UUID | str
    url: str
    description: str
    event_types: list[str] | None
    disabled: bool
    created_at: datetime

    def json(self, secret: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.id),
            "url": self.url,
            "description": self.description,
            "event_types": self.event_types,
            "disabled": self.disabled,
            "created_at_millis": millis(self.created_at),
        }
        if secret is not None:
            out["secret"] = secret
        return out


@dataclass(frozen=True, slots=True)
class EndpointChanges:
    """What an endpoint update sets: each None field is left as it is; the event filter is set
    (to ``event_types``, None for every event) only when ``set_event_types``."""

    url: str | None = None
    description: str | None = None
    set_event_types: bool = False
    event_types: list[str] | None = None
    disabled: bool | None = None


@dataclass(slots=True)
class EndpointTarget:
    """Where a lane's deliveries go in built-in mode: the URL and the sealed signing secret,
    with the project's config levels (``domains.allowLocalhost`` allows http://)."""

    id: uuid.UUID
    url: str
    secret_sealed: bytes
    disabled: bool
    config_override: dict[str, Any]
    branch_config_override: dict[str, Any]
    environment_config_override: dict[str, Any]


@dataclass(slots=True)
class AttemptRow:
    """One attempt, as ``GET .../endpoints/{id}/attempts`` lists it."""

    message_id: str
    event_type: str
    status: str
    response_status_code: int | None
    error: str | None
    attempted_at: datetime

    def json(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "event_type": self.event_type,
            "status": self.status,
            "response_status_code": self.response_status_code,
            "error": self.error,
            "attempted_at_millis": millis(self.attempted_at),
        }


@dataclass(slots=True)
class ClaimedDelivery:
    """A delivery a worker has claimed on its lane, with what sending it needs."""

    id: int
    attempt_id: int
    attempt_count: int
    event_id: uuid.UUID
    project_id: str
    event_type: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to. ``retry``: worth trying again later; ``stop_lane``: the target
    did not answer at all, so the lane's next deliveries wait rather than fail one by one."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    retry: bool = True
    stop_lane: bool = False
