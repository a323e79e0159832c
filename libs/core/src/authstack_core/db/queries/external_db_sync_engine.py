"""The sync engine's reads of our own database (what changed in a tenancy, in sequence order) and
its status rows (contract §7.2).

Each source SELECT returns the mapping's columns in ``models.external_db_sync`` order, then the
row's ``sync_sequence_id`` and whether the target must lose the row although the source keeps it
(an accepted invitation).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, LiteralString

from psycopg import AsyncConnection

from authstack_core.db.queries.run import fetch_one, fetch_value
from authstack_core.models.external_db_sync import Window

_RANGE: LiteralString = (
    " AND x.sync_sequence_id > %(after)s AND x.sync_sequence_id <= %(upto)s"
    " ORDER BY x.sync_sequence_id LIMIT %(limit)s"
)
_TENANCY: LiteralString = " WHERE x.tenancy_id = %(tenancy_id)s"
# verification_codes are keyed by project and branch: the tenancy is the pair.
_INVITATIONS_OF_TENANCY: LiteralString = """
FROM verification_codes x
JOIN tenancies t ON t.project_id = x.project_id AND t.branch_id = x.branch_id
WHERE t.id = %(tenancy_id)s AND x.type = 'TEAM_INVITATION'"""

SOURCE: dict[str, LiteralString] = {
    "users": """
SELECT x.id, x.display_name, x.profile_image_url, cc.value, coalesce(cc.is_verified, false),
       x.signed_up_at, x.client_metadata, x.client_read_only_metadata, x.server_metadata,
       x.is_anonymous, x.sync_sequence_id, false
FROM users x
LEFT JOIN contact_channels cc
    ON cc.tenancy_id = x.tenancy_id AND cc.user_id = x.id AND cc.type = 'email' AND cc.is_primary"""
    + _TENANCY
    + _RANGE,
    "contact_channels": """
SELECT x.id, x.user_id, x.type, x.value, x.is_primary, x.is_verified, x.used_for_auth,
       x.created_at, x.sync_sequence_id, false
FROM contact_channels x"""
    + _TENANCY
    + _RANGE,
    "teams": """
SELECT x.id, x.display_name, x.profile_image_url, x.created_at, x.client_metadata,
       x.client_read_only_metadata, x.server_metadata, x.sync_sequence_id, false
FROM teams x"""
    + _TENANCY
    + _RANGE,
    "team_member_profiles": """
SELECT x.team_id, x.user_id, x.display_name, x.profile_image_url, x.created_at,
       x.sync_sequence_id, false
FROM team_members x"""
    + _TENANCY
    + _RANGE,
    "team_permissions": """
SELECT x.team_id, x.user_id, x.permission_id, x.created_at, x.sync_sequence_id, false
FROM team_member_permissions x"""
    + _TENANCY
    + _RANGE,
    "team_invitations": """
SELECT x.id, (x.data->>'team_id')::uuid, x.method->>'email', x.expires_at, x.created_at,
       x.sync_sequence_id, x.used_at IS NOT NULL"""
    + _INVITATIONS_OF_TENANCY
    + _RANGE,
    "email_outboxes": """
SELECT x.id, x.status, x.is_high_priority, x.subject, x.skipped_reason, x.attempt_count,
       x.scheduled_at, x.created_at, x.sent_at, x.finished_at, x.sync_sequence_id, false
FROM email_outbox x"""
    + _TENANCY
    + _RANGE,
    "project_permissions": """
SELECT x.user_id, x.permission_id, x.created_at, x.sync_sequence_id, false
FROM project_user_permissions x"""
    + _TENANCY
    + _RANGE,
    "refresh_tokens": """
SELECT x.id, x.user_id, x.created_at, x.last_active_at, x.is_impersonation, x.expires_at,
       x.sync_sequence_id, false
FROM refresh_tokens x"""
    + _TENANCY
    + _RANGE,
    "connected_accounts": """
SELECT x.id, x.user_id, x.provider_config_id, x.provider_account_id, x.created_at,
       x.sync_sequence_id, false
FROM oauth_accounts x"""
    + _TENANCY
    + _RANGE,
}

# A tombstoned key whose row exists again (deleted, then inserted anew) is not deleted: the live
# row, numbered on its own, is what the target must hold.
_LIVE_AGAIN: dict[str, LiteralString] = {
    "users": "users s WHERE s.tenancy_id = x.tenancy_id AND s.id = (x.row_key->>'id')::uuid",
    "contact_channels": "contact_channels s WHERE s.tenancy_id = x.tenancy_id"
    " AND s.id = (x.row_key->>'id')::uuid",
    "teams": "teams s WHERE s.tenancy_id = x.tenancy_id AND s.id = (x.row_key->>'id')::uuid",
    "team_member_profiles": "team_members s WHERE s.tenancy_id = x.tenancy_id"
    " AND s.team_id = (x.row_key->>'team_id')::uuid AND s.user_id = (x.row_key->>'user_id')::uuid",
    "team_permissions": "team_member_permissions s WHERE s.tenancy_id = x.tenancy_id"
    " AND s.team_id = (x.row_key->>'team_id')::uuid AND s.user_id = (x.row_key->>'user_id')::uuid"
    " AND s.permission_id = x.row_key->>'permission_id'",
    "team_invitations": "verification_codes s JOIN tenancies t"
    " ON t.project_id = s.project_id AND t.branch_id = s.branch_id"
    " WHERE t.id = x.tenancy_id AND s.id = (x.row_key->>'id')::uuid"
    " AND s.type = 'TEAM_INVITATION' AND s.used_at IS NULL",
    "email_outboxes": "email_outbox s WHERE s.tenancy_id = x.tenancy_id"
    " AND s.id = (x.row_key->>'id')::uuid",
    "project_permissions": "project_user_permissions s WHERE s.tenancy_id = x.tenancy_id"
    " AND s.user_id = (x.row_key->>'user_id')::uuid"
    " AND s.permission_id = x.row_key->>'permission_id'",
    "refresh_tokens": "refresh_tokens s WHERE s.tenancy_id = x.tenancy_id"
    " AND s.id = (x.row_key->>'id')::uuid",
    "connected_accounts": "oauth_accounts s WHERE s.tenancy_id = x.tenancy_id"
    " AND s.id = (x.row_key->>'id')::uuid",
}
TOMBSTONES: dict[str, LiteralString] = {
    name: "SELECT x.row_key, x.sync_sequence_id FROM sync_tombstones x"
    " WHERE x.tenancy_id = %(tenancy_id)s AND x.mapping = %(mapping)s"
    " AND NOT EXISTS (SELECT 1 FROM " + live + ")" + _RANGE
    for name, live in _LIVE_AGAIN.items()
}


async def select_changed(
    conn: AsyncConnection[Any], mapping: str, window: Window
) -> list[tuple[Any, ...]]:
    """Up to ``window.limit`` rows of ``mapping`` numbered in the window, in sequence order."""
    cur = await conn.execute(SOURCE[mapping], window.params(mapping))
    return await cur.fetchall()


async def select_tombstones(
    conn: AsyncConnection[Any], mapping: str, window: Window
) -> list[tuple[dict[str, Any], int]]:
    """Up to ``window.limit`` (row_key, sequence id) of ``mapping``'s deletions numbered in the
    window whose key has no live row now, in sequence order."""
    cur = await conn.execute(TOMBSTONES[mapping], window.params(mapping))
    return [(row[0], int(row[1])) for row in await cur.fetchall()]


# Sequencer runs never overlap and number in one transaction each, so every id a running one
# holds is above all committed ids: everything up to this maximum is settled.
SELECT_UPTO = """
SELECT GREATEST(
    (SELECT max(sync_sequence_id) FROM users WHERE tenancy_id = %(tenancy_id)s),
    (SELECT max(sync_sequence_id) FROM contact_channels WHERE tenancy_id = %(tenancy_id)s),
    (SELECT max(sync_sequence_id) FROM teams WHERE tenancy_id = %(tenancy_id)s),
    (SELECT max(sync_sequence_id) FROM team_members WHERE tenancy_id = %(tenancy_id)s),
    (SELECT max(sync_sequence_id) FROM team_member_permissions WHERE tenancy_id = %(tenancy_id)s),
    (SELECT max(x.sync_sequence_id) FROM verification_codes x JOIN tenancies t
        ON t.project_id = x.project_id AND t.branch_id = x.branch_id
        WHERE t.id = %(tenancy_id)s AND x.type = 'TEAM_INVITATION'),
    (SELECT max(sync_sequence_id) FROM email_outbox WHERE tenancy_id = %(tenancy_id)s),
    (SELECT max(sync_sequence_id) FROM project_user_permissions WHERE tenancy_id = %(tenancy_id)s),
    (SELECT max(sync_sequence_id) FROM refresh_tokens WHERE tenancy_id = %(tenancy_id)s),
    (SELECT max(sync_sequence_id) FROM oauth_accounts WHERE tenancy_id = %(tenancy_id)s),
    (SELECT max(sync_sequence_id) FROM sync_tombstones WHERE tenancy_id = %(tenancy_id)s)
)
"""


async def select_upto(conn: AsyncConnection[Any], tenancy_id: uuid.UUID) -> int:
    """The highest sequence id among the tenancy's rows and tombstones (0 when none)."""
    value = await fetch_value(conn, int, SELECT_UPTO, tenancy_id=tenancy_id)
    return int(value or 0)


SELECT_PROJECT_OF_TENANCY = "SELECT project_id FROM tenancies WHERE id = %(tenancy_id)s"


async def select_project_of_tenancy(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID
) -> str | None:
    return await fetch_value(conn, str, SELECT_PROJECT_OF_TENANCY, tenancy_id=tenancy_id)


RECORD_PROGRESS = """
INSERT INTO external_db_sync_status AS s
    (tenancy_id, target_id, mapping, last_synced_sequence_id, last_error, last_error_at,
     updated_at)
VALUES (%(tenancy_id)s, %(target_id)s, %(mapping)s, %(last)s, NULL, NULL, now())
ON CONFLICT (tenancy_id, target_id, mapping) DO UPDATE
SET last_synced_sequence_id = EXCLUDED.last_synced_sequence_id, last_error = NULL,
    last_error_at = NULL, updated_at = now()
"""


async def record_progress(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, target_id: str, mapping: str, last: int
) -> None:
    """The target holds ``mapping`` up to ``last``; any earlier error is over."""
    params = {"tenancy_id": tenancy_id, "target_id": target_id, "mapping": mapping, "last": last}
    await conn.execute(RECORD_PROGRESS, params)


RECORD_ERROR = """
INSERT INTO external_db_sync_status AS s
    (tenancy_id, target_id, mapping, last_synced_sequence_id, last_error, last_error_at,
     updated_at)
SELECT %(tenancy_id)s, %(target_id)s, m, NULL, %(error)s, now(), now()
FROM unnest(%(mappings)s::text[]) AS m
ON CONFLICT (tenancy_id, target_id, mapping) DO UPDATE
SET last_error = EXCLUDED.last_error, last_error_at = now(), updated_at = now()
"""


async def record_error(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    target_id: str,
    mappings: list[str],
    error: str,
) -> None:
    """Syncing ``mappings`` to the target failed with ``error`` (their progress is kept)."""
    params = {
        "tenancy_id": tenancy_id,
        "target_id": target_id,
        "mappings": mappings,
        "error": error,
    }
    await conn.execute(RECORD_ERROR, params)


DELETE_GONE_TARGETS = """
DELETE FROM external_db_sync_status
WHERE tenancy_id = %(tenancy_id)s AND target_id <> ''
  AND NOT (target_id = ANY(%(target_ids)s::text[]))
"""


async def forget_other_targets(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, target_ids: list[str]
) -> None:
    """Drop the status of PostgreSQL targets the tenancy's config no longer names (``''`` is
    the ClickHouse target's, which the config does not name)."""
    await conn.execute(DELETE_GONE_TARGETS, {"tenancy_id": tenancy_id, "target_ids": target_ids})


@dataclass(frozen=True, slots=True)
class TenancyScope:
    project_id: str
    branch_id: str


SELECT_TENANCY_SCOPE = "SELECT project_id, branch_id FROM tenancies WHERE id = %(tenancy_id)s"


async def select_tenancy_scope(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID
) -> TenancyScope | None:
    """The tenancy's project and branch (None when it no longer exists)."""
    return await fetch_one(conn, TenancyScope, SELECT_TENANCY_SCOPE, tenancy_id=tenancy_id)


# One ClickHouse copy per tenancy at a time (two pollers may hold the same tenancy's request
# when the sequencer re-arms it): a transaction-level lock keyed by the tenancy.
CLICKHOUSE_LOCK_CLASS = 0x5C1C
TRY_TENANCY_LOCK = "SELECT pg_try_advisory_xact_lock(%(cls)s, hashtext(%(tenancy_id)s::text))"


async def take_clickhouse_turn(conn: AsyncConnection[Any], tenancy_id: uuid.UUID) -> bool:
    """Whether this transaction is now the only one copying the tenancy to ClickHouse (held
    until it ends); False when another holds it."""
    got = await fetch_value(
        conn, bool, TRY_TENANCY_LOCK, cls=CLICKHOUSE_LOCK_CLASS, tenancy_id=tenancy_id
    )
    return bool(got)
