"""User and team API keys: issue (full value shown once), list, read, revoke and check.

``acting_user_id`` is the signed-in client whose rules apply: its own user keys only, and a
team's keys only with ``$manage_api_keys`` in that team. Servers and admins pass None.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from psycopg import AsyncConnection

from authstack_core.crypto.api_keys import ApiKeyType, new_api_key, parse_api_key
from authstack_core.crypto.codes import sha256_bytes
from authstack_core.db.queries import api_keys as q
from authstack_core.domain.context import Deps
from authstack_core.domain.permissions import require_team_permission
from authstack_core.domain.teams import require_team_in, require_user_in
from authstack_core.errors import (
    ApiKeyExpired,
    ApiKeyNotFound,
    ApiKeyRevoked,
    ApiKeysNotEnabled,
    NotOwnApiKeys,
    WrongApiKeyType,
)
from authstack_core.models.api_keys import ApiKeyRow
from authstack_core.models.projects import TenantProject

MANAGE_API_KEYS = "$manage_api_keys"


class _Keep:
    """Marks an expiry a PATCH did not send (None would mean "never expires")."""


KEEP = _Keep()


def require_enabled(project: TenantProject, key_type: ApiKeyType) -> None:
    """Refuse every route of a key type the project has not turned on (``apiKeys.enabled.*``)."""
    enabled = project.config.user_api_keys if key_type == "user" else project.config.team_api_keys
    if not enabled:
        raise ApiKeysNotEnabled(key_type)


async def _authorise(
    conn: AsyncConnection[Any],
    project: TenantProject,
    *,
    user_id: str | None,
    team_id: str | None,
    acting_user_id: str | None,
) -> None:
    if acting_user_id is None:
        return
    if user_id is not None and user_id != acting_user_id:
        raise NotOwnApiKeys()
    if team_id is not None:
        await require_team_permission(conn, project, team_id, acting_user_id, MANAGE_API_KEYS)


async def create_key(
    deps: Deps,
    project: TenantProject,
    key_type: ApiKeyType,
    owner_id: str,
    *,
    description: str,
    expires_at: datetime | None,
    is_public: bool,
    acting_user_id: str | None,
) -> tuple[ApiKeyRow, str]:
    """Issue a key for a user or team; returns the row and the full key (never stored)."""
    require_enabled(project, key_type)
    user_id = owner_id if key_type == "user" else None
    team_id = owner_id if key_type == "team" else None
    key_id = uuid.uuid4()
    value = new_api_key(key_id, key_type, is_public=is_public)
    tenancy_id = project.tenancy_id
    async with deps.pool.connection() as conn, conn.transaction():
        await _authorise(
            conn, project, user_id=user_id, team_id=team_id, acting_user_id=acting_user_id
        )
        if user_id is not None:
            await require_user_in(conn, project, user_id)
        if team_id is not None:
            await require_team_in(conn, project, team_id)
        await q.insert_key(
            conn,
            tenancy_id,
            key_id,
            user_id=user_id,
            team_id=team_id,
            description=description,
            is_public=is_public,
            key_hash=sha256_bytes(value),
            last_four=value[-4:],
            expires_at=expires_at,
        )
        row = await q.select_key(conn, tenancy_id, str(key_id))
    assert row is not None
    return row, value


async def list_keys(
    deps: Deps,
    project: TenantProject,
    key_type: ApiKeyType,
    owner_id: str | None,
    *,
    acting_user_id: str | None,
) -> list[ApiKeyRow]:
    """Keys of one type, newest first; a client must name itself (user) or a team it manages."""
    require_enabled(project, key_type)
    user_id = owner_id if key_type == "user" else None
    team_id = owner_id if key_type == "team" else None
    async with deps.pool.connection() as conn:
        await _authorise(
            conn, project, user_id=user_id, team_id=team_id, acting_user_id=acting_user_id
        )
        return await q.select_keys(
            conn, project.tenancy_id, key_type=key_type, user_id=user_id, team_id=team_id
        )


async def _key_for(
    conn: AsyncConnection[Any],
    project: TenantProject,
    key_type: ApiKeyType,
    key_id: str,
    owner_id: str | None,
    acting_user_id: str | None,
) -> ApiKeyRow:
    row = await q.select_key(conn, project.tenancy_id, key_id)
    if row is None or row.type != key_type:
        raise ApiKeyNotFound()
    owner = row.user_id if key_type == "user" else row.team_id
    if owner_id is not None and owner_id != owner:
        if acting_user_id is not None and key_type == "user":
            raise NotOwnApiKeys()
        raise ApiKeyNotFound()
    await _authorise(
        conn, project, user_id=row.user_id, team_id=row.team_id, acting_user_id=acting_user_id
    )
    return row


async def get_key(
    deps: Deps,
    project: TenantProject,
    key_type: ApiKeyType,
    key_id: str,
    *,
    owner_id: str | None,
    acting_user_id: str | None,
) -> ApiKeyRow:
    require_enabled(project, key_type)
    async with deps.pool.connection() as conn:
        return await _key_for(conn, project, key_type, key_id, owner_id, acting_user_id)


async def update_key(
    deps: Deps,
    project: TenantProject,
    key_type: ApiKeyType,
    key_id: str,
    *,
    owner_id: str | None,
    description: str | None,
    expires_at: datetime | None | _Keep = KEEP,
    revoke: bool,
    acting_user_id: str | None,
) -> ApiKeyRow:
    """Change the description or expiry (None: never expires), and/or revoke the key for good."""
    require_enabled(project, key_type)
    async with deps.pool.connection() as conn, conn.transaction():
        await _key_for(conn, project, key_type, key_id, owner_id, acting_user_id)
        await q.update_key(
            conn,
            project.tenancy_id,
            key_id,
            description=description,
            set_expiry=not isinstance(expires_at, _Keep),
            expires_at=None if isinstance(expires_at, _Keep) else expires_at,
            revoke=revoke,
        )
        row = await q.select_key(conn, project.tenancy_id, key_id)
    assert row is not None
    return row


async def check_key(
    deps: Deps, project: TenantProject, key_type: ApiKeyType, api_key: str
) -> ApiKeyRow:
    """The key's read object if it is live; API_KEY_NOT_FOUND, WRONG_API_KEY_TYPE,
    API_KEY_REVOKED or API_KEY_EXPIRED otherwise (checked in that order)."""
    require_enabled(project, key_type)
    if parse_api_key(api_key) is None:  # malformed or bad checksum: no database round trip
        raise ApiKeyNotFound()
    async with deps.pool.connection() as conn:
        row = await q.select_key_by_hash(conn, project.tenancy_id, sha256_bytes(api_key))
    if row is None:
        raise ApiKeyNotFound()
    if row.type != key_type:
        raise WrongApiKeyType(expected_type=key_type, actual_type=row.type)
    if row.manually_revoked_at is not None:
        raise ApiKeyRevoked()
    if row.expires_at is not None and row.expires_at <= datetime.now(UTC):
        raise ApiKeyExpired()
    return row
