"""External database sync SQL: numbering changed rows (the sequencer), sync requests (the poller),
the fusebox and the status counts.

The capture itself is in the database (migration 0013's triggers); see
``authstack_core.domain.external_db_sync`` for the flow.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, sql

from authstack_core.db.queries.run import fetch_all, fetch_one, fetch_value

# Any constant works; every sequencer must use the same one (pg_try_advisory_xact_lock).
SEQUENCER_LOCK_KEY = 0x5EC_0E4C
# A claimed request not deleted within this long is claimed again (its poller died).
STALE_CLAIM = "5 minutes"


@dataclass(frozen=True, slots=True)
class Source:
    """A source table, the mapping it feeds, and how its rows name their tenancy."""

    mapping: str
    table: str
    # The numbered rows' tenancy (RETURNING), their filter, and the filter to one tenancy.
    tenancy: sql.Composable
    only: sql.Composable
    of_tenancy: sql.Composable


def _plain(mapping: str, table: str) -> Source:
    return Source(
        mapping,
        table,
        sql.SQL("s.tenancy_id"),
        sql.SQL("TRUE"),
        sql.SQL("s.tenancy_id = %(tenancy_id)s"),
    )


# Team invitations are verification_codes rows of type TEAM_INVITATION, keyed by project and
# branch rather than tenancy (migration 0013).
_INVITATIONS = Source(
    "team_invitations",
    "verification_codes",
    sql.SQL(
        "(SELECT t.id FROM tenancies t"
        " WHERE t.project_id = s.project_id AND t.branch_id = s.branch_id)"
    ),
    sql.SQL("s.type = 'TEAM_INVITATION'"),
    sql.SQL(
        "s.type = 'TEAM_INVITATION'"
        " AND s.project_id = %(project_id)s AND s.branch_id = %(branch_id)s"
    ),
)

SOURCES: tuple[Source, ...] = (
    _plain("users", "users"),
    _plain("contact_channels", "contact_channels"),
    _plain("teams", "teams"),
    _plain("team_member_profiles", "team_members"),
    _plain("team_permissions", "team_member_permissions"),
    _INVITATIONS,
    _plain("email_outboxes", "email_outbox"),
    _plain("project_permissions", "project_user_permissions"),
    _plain("refresh_tokens", "refresh_tokens"),
    _plain("connected_accounts", "oauth_accounts"),
)
MAPPINGS: tuple[str, ...] = tuple(source.mapping for source in SOURCES)


TRY_LOCK = "SELECT pg_try_advisory_xact_lock(%(key)s)"
# The triggers leave a row's number alone while this is on (this transaction only).
ENABLE_SEQUENCING = "SELECT set_config('authstack.sync_sequencing', 'on', true)"


async def take_sequencer_turn(conn: AsyncConnection[Any]) -> bool:
    """Whether this transaction is now the only sequencer; if so, its updates keep their numbers.

    False when another sequencer holds the turn (it is released when that transaction ends).
    """
    if not await fetch_value(conn, bool, TRY_LOCK, key=SEQUENCER_LOCK_KEY):
        return False
    await conn.execute(ENABLE_SEQUENCING)
    return True


# Rows locked by a writer are skipped: they are numbered by a later pass, after that writer's
# commit (or never, if it rolls back). ctid is stable here because the rows are locked.
_NUMBER_ROWS = """
WITH picked AS (
    SELECT s.ctid FROM {table} s
    WHERE s.sync_sequence_id IS NULL AND {only}
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE {table} s SET sync_sequence_id = nextval('global_seq_id')
WHERE s.ctid = ANY (ARRAY(SELECT ctid FROM picked))
RETURNING {tenancy}
"""


async def number_changes(conn: AsyncConnection[Any], source: Source, limit: int) -> list[uuid.UUID]:
    """Number up to ``limit`` committed changed rows of ``source`` (call after
    ``take_sequencer_turn``); the tenancy of each numbered row (None for a row whose tenancy is
    gone)."""
    query = sql.SQL(_NUMBER_ROWS).format(
        table=sql.Identifier(source.table), only=source.only, tenancy=source.tenancy
    )
    cur = await conn.execute(query, {"limit": limit})
    return [row[0] for row in await cur.fetchall()]


NUMBER_TOMBSTONES = """
WITH picked AS (
    SELECT id FROM sync_tombstones WHERE sync_sequence_id IS NULL
    ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
UPDATE sync_tombstones s SET sync_sequence_id = nextval('global_seq_id')
FROM picked WHERE s.id = picked.id
RETURNING s.tenancy_id
"""


async def number_tombstones(conn: AsyncConnection[Any], limit: int) -> list[uuid.UUID]:
    """Number up to ``limit`` committed tombstones; the tenancy of each."""
    cur = await conn.execute(NUMBER_TOMBSTONES, {"limit": limit})
    return [row[0] for row in await cur.fetchall()]


@dataclass(frozen=True, slots=True)
class SyncConfigRow:
    tenancy_id: uuid.UUID
    config_override: dict[str, Any]
    branch_config_override: dict[str, Any]
    environment_config_override: dict[str, Any]


# A pre-filter only: a tenancy none of whose levels has a key at or under dbSync has no target.
# The caller renders the levels to see whether one is left (a level may remove another's).
_SYNC_CONFIGS = """
SELECT t.id AS tenancy_id, p.config_override, t.branch_config_override,
       t.environment_config_override
FROM tenancies t JOIN projects p ON p.id = t.project_id
WHERE EXISTS (
      SELECT 1
      FROM jsonb_object_keys(p.config_override || t.branch_config_override
                             || t.environment_config_override) AS k
      WHERE k = 'dbSync' OR starts_with(k, 'dbSync.'))
"""
SELECT_SYNC_CONFIGS = _SYNC_CONFIGS + "  AND t.id = ANY (%(ids)s)\n"


async def select_sync_configs(
    conn: AsyncConnection[Any], tenancy_ids: list[uuid.UUID] | None
) -> list[SyncConfigRow]:
    """The config levels of those of ``tenancy_ids`` (None: of all tenancies) whose config
    mentions dbSync at all."""
    if tenancy_ids is None:
        return await fetch_all(conn, SyncConfigRow, _SYNC_CONFIGS)
    return await fetch_all(conn, SyncConfigRow, SELECT_SYNC_CONFIGS, ids=tenancy_ids)


# Tenancies ClickHouse has never received (no status row of its target ''), a batch at a time.
SELECT_UNCOPIED_TENANCIES = """
SELECT t.id FROM tenancies t
WHERE NOT EXISTS (SELECT 1 FROM external_db_sync_status s
                  WHERE s.tenancy_id = t.id AND s.target_id = '')
LIMIT %(limit)s
"""


async def select_uncopied_tenancies(conn: AsyncConnection[Any], limit: int) -> list[uuid.UUID]:
    cur = await conn.execute(SELECT_UNCOPIED_TENANCIES, {"limit": limit})
    return [row[0] for row in await cur.fetchall()]


SELECT_SYNCED_TARGETS = """
SELECT DISTINCT tenancy_id, target_id FROM external_db_sync_status WHERE target_id <> ''
"""


async def select_synced_targets(conn: AsyncConnection[Any]) -> set[tuple[uuid.UUID, str]]:
    """(tenancy, target id) of every PostgreSQL target the engine has run for."""
    cur = await conn.execute(SELECT_SYNCED_TARGETS)
    return {(row[0], row[1]) for row in await cur.fetchall()}


SELECT_LIVE_TENANCIES = "SELECT id FROM tenancies WHERE id = ANY (%(ids)s)"


async def select_live_tenancies(
    conn: AsyncConnection[Any], tenancy_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """Those of ``tenancy_ids`` that still exist."""
    cur = await conn.execute(SELECT_LIVE_TENANCIES, {"ids": tenancy_ids})
    return [row[0] for row in await cur.fetchall()]


# A pending request is kept as it is (one per tenancy). A claimed one is armed again: the poller
# may have sent its message before these changes were committed, and deletes only its own claim.
INSERT_REQUESTS = """
INSERT INTO external_db_sync_requests (tenancy_id)
SELECT unnest(%(ids)s::uuid[])
ON CONFLICT (tenancy_id) DO UPDATE SET requested_at = now(), claimed_at = NULL
WHERE external_db_sync_requests.claimed_at IS NOT NULL
"""


async def insert_requests(conn: AsyncConnection[Any], tenancy_ids: list[uuid.UUID]) -> None:
    """Ask for a sync of each of ``tenancy_ids`` (deduplicated per tenancy)."""
    await conn.execute(INSERT_REQUESTS, {"ids": tenancy_ids})


# A target that failed (down, refused) is asked for again a minute after its last failure, also
# once the worker's own retries are spent, until it succeeds (the engine clears last_error).
INSERT_RETRY_REQUESTS = """
INSERT INTO external_db_sync_requests (tenancy_id)
SELECT DISTINCT s.tenancy_id FROM external_db_sync_status s
JOIN tenancies t ON t.id = s.tenancy_id
WHERE s.last_error IS NOT NULL AND s.last_error_at < now() - %(after)s::interval
ON CONFLICT (tenancy_id) DO NOTHING
"""


async def insert_retry_requests(conn: AsyncConnection[Any], after: str) -> int:
    """Ask again for the tenancies with a target that failed more than ``after`` ago."""
    cur = await conn.execute(INSERT_RETRY_REQUESTS, {"after": after})
    return cur.rowcount


@dataclass(frozen=True, slots=True)
class Claim:
    tenancy_ids: list[uuid.UUID]
    claimed_at: datetime | None


CLAIM_REQUESTS = """
WITH picked AS (
    SELECT tenancy_id FROM external_db_sync_requests
    WHERE claimed_at IS NULL OR claimed_at < now() - %(stale)s::interval
    ORDER BY requested_at LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE external_db_sync_requests r SET claimed_at = now()
FROM picked WHERE r.tenancy_id = picked.tenancy_id
RETURNING r.tenancy_id, r.claimed_at
"""


async def claim_requests(conn: AsyncConnection[Any], limit: int) -> Claim:
    """Claim up to ``limit`` pending (or stale) requests, oldest first."""
    cur = await conn.execute(CLAIM_REQUESTS, {"limit": limit, "stale": STALE_CLAIM})
    rows = await cur.fetchall()
    return Claim([row[0] for row in rows], rows[0][1] if rows else None)


DELETE_CLAIMED = """
DELETE FROM external_db_sync_requests
WHERE tenancy_id = ANY (%(ids)s) AND claimed_at = %(claimed_at)s
"""
RELEASE_CLAIMED = """
UPDATE external_db_sync_requests SET claimed_at = NULL
WHERE tenancy_id = ANY (%(ids)s) AND claimed_at = %(claimed_at)s
"""


async def finish_claim(
    conn: AsyncConnection[Any], tenancy_ids: list[uuid.UUID], claimed_at: datetime, *, sent: bool
) -> None:
    """Delete (sent) or give back (not sent) those of the claimed requests still under this
    claim; a request armed again meanwhile stays pending."""
    query = DELETE_CLAIMED if sent else RELEASE_CLAIMED
    await conn.execute(query, {"ids": tenancy_ids, "claimed_at": claimed_at})


@dataclass(frozen=True, slots=True)
class Fusebox:
    sequencer_enabled: bool
    poller_enabled: bool
    updated_at: datetime


SELECT_FUSEBOX = """
SELECT sequencer_enabled, poller_enabled, updated_at FROM external_db_sync_fusebox WHERE id
"""
UPDATE_FUSEBOX = """
UPDATE external_db_sync_fusebox
SET sequencer_enabled = coalesce(%(sequencer_enabled)s, sequencer_enabled),
    poller_enabled = coalesce(%(poller_enabled)s, poller_enabled),
    updated_at = now()
WHERE id
RETURNING sequencer_enabled, poller_enabled, updated_at
"""


async def select_fusebox(conn: AsyncConnection[Any]) -> Fusebox:
    row = await fetch_one(conn, Fusebox, SELECT_FUSEBOX)
    if row is None:  # migration 0013 inserts the row; nothing deletes it
        raise LookupError("external_db_sync_fusebox has no row")
    return row


async def update_fusebox(
    conn: AsyncConnection[Any], *, sequencer_enabled: bool | None, poller_enabled: bool | None
) -> Fusebox:
    """Set the switches given (None leaves one as it is); the fusebox after the change."""
    row = await fetch_one(
        conn,
        Fusebox,
        UPDATE_FUSEBOX,
        sequencer_enabled=sequencer_enabled,
        poller_enabled=poller_enabled,
    )
    if row is None:
        raise LookupError("external_db_sync_fusebox has no row")
    return row


@dataclass(frozen=True, slots=True)
class StatusRow:
    target_id: str
    mapping: str
    last_synced_sequence_id: int | None
    last_error: str | None
    last_error_at: datetime | None
    updated_at: datetime


SELECT_STATUS = """
SELECT target_id, mapping, last_synced_sequence_id, last_error, last_error_at, updated_at
FROM external_db_sync_status WHERE tenancy_id = %(tenancy_id)s
ORDER BY target_id, mapping
"""


async def select_status(conn: AsyncConnection[Any], tenancy_id: uuid.UUID) -> list[StatusRow]:
    """What the sync engine recorded for the tenancy, per target and mapping."""
    return await fetch_all(conn, StatusRow, SELECT_STATUS, tenancy_id=tenancy_id)


@dataclass(frozen=True, slots=True)
class ChangeCounts:
    numbered_after: int  # rows and tombstones numbered after the given id
    unnumbered: int  # rows and tombstones changed and not yet numbered


_COUNT_CHANGES = """
SELECT
    (SELECT count(*) FROM {table} s WHERE {of_tenancy} AND s.sync_sequence_id > %(after)s)
    + (SELECT count(*) FROM sync_tombstones
       WHERE tenancy_id = %(tenancy_id)s AND mapping = %(mapping)s
         AND sync_sequence_id > %(after)s) AS numbered_after,
    (SELECT count(*) FROM {table} s WHERE {of_tenancy} AND s.sync_sequence_id IS NULL)
    + (SELECT count(*) FROM sync_tombstones
       WHERE tenancy_id = %(tenancy_id)s AND mapping = %(mapping)s
         AND sync_sequence_id IS NULL) AS unnumbered
"""


async def count_changes(
    conn: AsyncConnection[Any],
    source: Source,
    *,
    tenancy_id: uuid.UUID,
    project_id: str,
    branch_id: str,
    after: int,
) -> ChangeCounts:
    """How many of the tenancy's ``source`` rows and tombstones are numbered after ``after``,
    and how many are changed and not numbered yet."""
    query = sql.SQL(_COUNT_CHANGES).format(
        table=sql.Identifier(source.table), of_tenancy=source.of_tenancy
    )
    row = await fetch_one(
        conn,
        ChangeCounts,
        query,
        tenancy_id=tenancy_id,
        project_id=project_id,
        branch_id=branch_id,
        mapping=source.mapping,
        after=after,
    )
    return row or ChangeCounts(0, 0)
