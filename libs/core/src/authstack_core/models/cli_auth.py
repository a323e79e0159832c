"""CLI sign-in records: what the poll and the browser's steps read of an attempt."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(slots=True)
class PendingAttempt:
    """An attempt still waiting for the browser (not completed, not expired)."""

    id: uuid.UUID
    # The CLI came with an anonymous session that is still live, its user still anonymous.
    has_anonymous_session: bool


@dataclass(slots=True)
class AttemptState:
    """What a poll that took nothing says: expired, already handed out, or still waiting."""

    expired: bool
    used: bool


@dataclass(slots=True)
class LiveSession:
    """A refresh token that is live in its tenancy, and its user."""

    session_id: uuid.UUID
    user_id: str
    is_anonymous: bool
