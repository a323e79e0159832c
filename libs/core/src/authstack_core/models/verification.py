"""Verification-code records (contract §5.1)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class VerificationCodeRow:
    id: uuid.UUID
    type: str
    expires_at: datetime
    used_at: datetime | None
    redirect_url: str | None
    method: dict[str, Any]
    data: dict[str, Any]
    attempt_count: int
    created_at: datetime
