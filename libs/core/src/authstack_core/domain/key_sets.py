"""Project key sets: create (keys shown once), list, read, describe and revoke."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from authstack_core.crypto.codes import new_project_key, sha256_bytes
from authstack_core.db.queries import key_sets as q
from authstack_core.domain import audit_log
from authstack_core.domain.context import Deps
from authstack_core.domain.project_changes import changing_project
from authstack_core.errors import ApiKeySetNotFound
from authstack_core.models.audit_log import Actor, Target
from authstack_core.models.key_sets import KEY_PREFIXES, ApiKeySetRow
from authstack_core.models.projects import TenantProject
from authstack_core.models.shapes import millis


@dataclass(frozen=True, slots=True)
class CreatedKeySet:
    row: ApiKeySetRow
    keys: dict[str, str]  # kind -> plaintext key; returned once and never stored


async def create_key_set(
    deps: Deps,
    project: TenantProject,
    *,
    description: str,
    expires_at: datetime,
    kinds: list[str],
    actor: Actor | None,
) -> CreatedKeySet:
    """Generate the requested keys; only their SHA-256 hashes and last four are stored. The
    audit entry names the kinds of key, never a key."""
    project_id = project.id
    keys = {kind: new_project_key(KEY_PREFIXES[kind]) for kind in kinds}
    hashes = {KEY_PREFIXES[kind]: (sha256_bytes(value), value[-4:]) for kind, value in keys.items()}
    key_set_id = uuid.uuid4()
    async with changing_project(deps, project_id) as conn:
        await q.insert_key_set(
            conn,
            project_id,
            key_set_id,
            description=description,
            expires_at=expires_at,
            hashes=hashes,  # type: ignore[arg-type]
        )
        row = await q.select_key_set(conn, project_id, str(key_set_id))
        await audit_log.record(
            conn,
            project,
            actor,
            "key_set.created",
            Target("key_set", str(key_set_id)),
            {"kinds": sorted(kinds), "expires_at_millis": millis(expires_at)},
        )
    assert row is not None
    return CreatedKeySet(row, keys)


async def list_key_sets(deps: Deps, project_id: str) -> list[ApiKeySetRow]:
    async with deps.pool.connection() as conn:
        return await q.select_key_sets(conn, project_id)


async def get_key_set(deps: Deps, project_id: str, key_set_id: str) -> ApiKeySetRow:
    """Raise a 404 when the set does not exist in this project."""
    async with deps.pool.connection() as conn:
        row = await q.select_key_set(conn, project_id, key_set_id)
    if row is None:
        raise ApiKeySetNotFound()
    return row


async def update_key_set(
    deps: Deps,
    project: TenantProject,
    key_set_id: str,
    *,
    description: str | None,
    revoke: bool,
    actor: Actor | None,
) -> ApiKeySetRow:
    """Change the description and/or revoke; a revoked key stops working on the next request.
    A revocation (the first one: revoking again changes nothing) is audited."""
    project_id = project.id
    async with changing_project(deps, project_id) as conn:
        current = await q.select_key_set(conn, project_id, key_set_id)
        if current is None:
            raise ApiKeySetNotFound()
        if description is not None:
            await q.update_description(conn, project_id, key_set_id, description)
        if revoke:
            await q.revoke_key_set(conn, project_id, key_set_id)
            if current.manually_revoked_at is None:
                await audit_log.record(
                    conn, project, actor, "key_set.revoked", Target("key_set", key_set_id)
                )
        row = await q.select_key_set(conn, project_id, key_set_id)
    assert row is not None
    return row
