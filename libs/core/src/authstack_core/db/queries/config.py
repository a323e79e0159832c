"""Config overrides, level by level: the project's on its row, branch and environment on the
tenancy's (contract §10).

Every write of any level holds the project row's lock (``lock_levels``), so edits of one project's
config never interleave, and ``share_levels`` reads them steady.
"""

from __future__ import annotations

import uuid
from typing import Any, LiteralString

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from authstack_core.db.queries.run import fetch_one, fetch_value
from authstack_core.models.config_schema import ConfigLevels, Level

_SELECT_LEVELS = """
SELECT p.config_override, t.branch_config_override, t.environment_config_override,
       t.branch_config_source
FROM projects p JOIN tenancies t ON t.project_id = p.id
WHERE p.id = %(project_id)s AND t.id = %(tenancy_id)s
"""
LOCK_LEVELS = _SELECT_LEVELS + "FOR UPDATE OF p"
SHARE_LEVELS = _SELECT_LEVELS + "FOR SHARE OF p"


async def lock_levels(
    conn: AsyncConnection[Any], project_id: str, tenancy_id: uuid.UUID
) -> ConfigLevels | None:
    """The tenancy's config levels, with the project row locked until the transaction ends."""
    return await fetch_one(
        conn, ConfigLevels, LOCK_LEVELS, project_id=project_id, tenancy_id=tenancy_id
    )


async def share_levels(
    conn: AsyncConnection[Any], project_id: str, tenancy_id: uuid.UUID
) -> ConfigLevels | None:
    """The tenancy's config levels, which no one can change until the transaction ends."""
    return await fetch_one(
        conn, ConfigLevels, SHARE_LEVELS, project_id=project_id, tenancy_id=tenancy_id
    )


WRITE_LEVEL: dict[Level, LiteralString] = {
    "project": """
UPDATE projects SET config_override = %(override)s, updated_at = now()
WHERE id = %(project_id)s
""",
    "branch": """
UPDATE tenancies SET branch_config_override = %(override)s
WHERE id = %(tenancy_id)s AND project_id = %(project_id)s
""",
    "environment": """
UPDATE tenancies SET environment_config_override = %(override)s
WHERE id = %(tenancy_id)s AND project_id = %(project_id)s
""",
}


async def write_level(
    conn: AsyncConnection[Any],
    project_id: str,
    tenancy_id: uuid.UUID,
    level: Level,
    override: dict[str, Any],
) -> None:
    """Store ``override`` as the whole of ``level`` (hold ``lock_levels`` first)."""
    await conn.execute(
        WRITE_LEVEL[level],
        {"project_id": project_id, "tenancy_id": tenancy_id, "override": Jsonb(override)},
    )


WRITE_SOURCE = """
UPDATE tenancies SET branch_config_source = %(source)s
WHERE id = %(tenancy_id)s AND project_id = %(project_id)s
"""


async def write_source(
    conn: AsyncConnection[Any], project_id: str, tenancy_id: uuid.UUID, source: dict[str, Any]
) -> None:
    """Record where the branch level came from (hold ``lock_levels`` first)."""
    await conn.execute(
        WRITE_SOURCE, {"project_id": project_id, "tenancy_id": tenancy_id, "source": Jsonb(source)}
    )


SELECT_SOURCE = """
SELECT branch_config_source FROM tenancies
WHERE id = %(tenancy_id)s AND project_id = %(project_id)s
"""


async def select_source(
    conn: AsyncConnection[Any], project_id: str, tenancy_id: uuid.UUID
) -> dict[str, Any] | None:
    return await fetch_value(
        conn, dict, SELECT_SOURCE, project_id=project_id, tenancy_id=tenancy_id
    )
