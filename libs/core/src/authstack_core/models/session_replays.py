"""Session replays: the rows admins list (replays, their chunks); the events live in storage."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class NewChunk:
    """One batch as the batch route received it (ids checked, events not looked into)."""

    browser_session_id: str
    session_replay_segment_id: str
    batch_id: str
    started_at_ms: int
    sent_at_ms: int
    events: list[Any]


@dataclass(frozen=True, slots=True)
class StoredBatch:
    session_replay_id: uuid.UUID
    batch_id: str
    deduped: bool


@dataclass(frozen=True, slots=True)
class ReplayRow:
    id: uuid.UUID
    user_id: uuid.UUID
    display_name: str | None
    primary_email: str | None
    started_at: datetime
    last_event_at: datetime
    chunk_count: int
    event_count: int

    def json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "project_user": {
                "id": str(self.user_id),
                "display_name": self.display_name,
                "primary_email": self.primary_email,
            },
            "started_at_millis": _ms(self.started_at),
            "last_event_at_millis": _ms(self.last_event_at),
            "chunk_count": self.chunk_count,
            "event_count": self.event_count,
        }


@dataclass(frozen=True, slots=True)
class ChunkRow:
    id: uuid.UUID
    batch_id: uuid.UUID
    session_replay_segment_id: uuid.UUID
    browser_session_id: uuid.UUID
    storage_key: str
    event_count: int
    byte_size: int
    first_event_at: datetime
    last_event_at: datetime
    created_at: datetime

    def json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "batch_id": str(self.batch_id),
            "session_replay_segment_id": str(self.session_replay_segment_id),
            "browser_session_id": str(self.browser_session_id),
            "event_count": self.event_count,
            "byte_length": self.byte_size,
            "first_event_at_millis": _ms(self.first_event_at),
            "last_event_at_millis": _ms(self.last_event_at),
            "created_at_millis": _ms(self.created_at),
        }
