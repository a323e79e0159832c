"""What every wire shape shares: who it is for, and how it writes a time."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

# Who reads a shape: a client sees the client shape; servers and admins see the server one
# (the contract has no admin-only fields on users, teams or channels).
Audience = Literal["client", "server", "admin"]


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)
