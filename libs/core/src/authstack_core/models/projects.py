"""Project records."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from authstack_core.models.config import ProjectConfig


@dataclass(slots=True)
class ProjectRow:
    """A project with its main-branch tenancy and the hashes of its live keys."""

    id: str
    display_name: str
    description: str
    is_production_mode: bool
    owner_team_id: uuid.UUID | None
    config_override: dict[str, Any]
    created_at: datetime
    tenancy_id: uuid.UUID | None
    publishable_client_key_hashes: list[bytes]
    secret_server_key_hashes: list[bytes]
    super_secret_admin_key_hashes: list[bytes]
    config: ProjectConfig = field(init=False)

    def __post_init__(self) -> None:
        self.config = ProjectConfig.from_override(self.config_override)
