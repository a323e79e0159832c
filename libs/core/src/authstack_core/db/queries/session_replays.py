"""Session replays and their chunks (one stored gzip object each), per tenancy."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import fetch_all, fetch_one, fetch_value
from authstack_core.models.session_replays import ChunkRow, ReplayRow

SELECT_PROJECT_BYTES = """
SELECT COALESCE(SUM(c.byte_size), 0)::bigint FROM session_replay_chunks c
WHERE c.tenancy_id IN (SELECT id FROM tenancies WHERE project_id = %(project_id)s)
"""


async def select_project_bytes(conn: AsyncConnection[Any], project_id: str) -> int:
    """The stored bytes of every replay of the project (all branches)."""
    return await fetch_value(conn, int, SELECT_PROJECT_BYTES, project_id=project_id) or 0


SELECT_BATCH_REPLAY = """
SELECT c.session_replay_id FROM session_replay_chunks c
JOIN session_replays r ON r.tenancy_id = c.tenancy_id AND r.id = c.session_replay_id
WHERE c.tenancy_id = %(tenancy_id)s AND c.batch_id = %(batch_id)s
  AND r.refresh_token_id = %(refresh_token_id)s
LIMIT 1
"""


async def select_batch_replay(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, refresh_token_id: str, batch_id: str
) -> uuid.UUID | None:
    """The replay already holding this session's batch ``batch_id``, if any."""
    return await fetch_value(
        conn,
        uuid.UUID,
        SELECT_BATCH_REPLAY,
        tenancy_id=tenancy_id,
        refresh_token_id=refresh_token_id,
        batch_id=batch_id,
    )


# The session's replay that was still going at ``since``; locked, so two batches of one session
# arriving together join the same replay.
SELECT_RECENT_REPLAY = """
SELECT id FROM session_replays
WHERE tenancy_id = %(tenancy_id)s AND refresh_token_id = %(refresh_token_id)s
  AND last_event_at >= %(since)s
ORDER BY last_event_at DESC LIMIT 1
FOR UPDATE
"""


async def select_recent_replay(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, refresh_token_id: str, since: datetime
) -> uuid.UUID | None:
    return await fetch_value(
        conn,
        uuid.UUID,
        SELECT_RECENT_REPLAY,
        tenancy_id=tenancy_id,
        refresh_token_id=refresh_token_id,
        since=since,
    )


UPSERT_REPLAY = """
INSERT INTO session_replays (tenancy_id, id, user_id, refresh_token_id, started_at, last_event_at)
VALUES (%(tenancy_id)s, %(id)s, %(user_id)s, %(refresh_token_id)s, %(first)s, %(last)s)
ON CONFLICT (tenancy_id, id) DO UPDATE SET
    started_at = LEAST(session_replays.started_at, EXCLUDED.started_at),
    last_event_at = GREATEST(session_replays.last_event_at, EXCLUDED.last_event_at)
"""


async def upsert_replay(
    conn: AsyncConnection[Any],
    *,
    tenancy_id: uuid.UUID,
    replay_id: uuid.UUID,
    user_id: str,
    refresh_token_id: str,
    first: datetime,
    last: datetime,
) -> None:
    await conn.execute(
        UPSERT_REPLAY,
        {
            "tenancy_id": tenancy_id,
            "id": replay_id,
            "user_id": user_id,
            "refresh_token_id": refresh_token_id,
            "first": first,
            "last": last,
        },
    )


INSERT_CHUNK = """
INSERT INTO session_replay_chunks (
    tenancy_id, id, session_replay_id, batch_id, browser_session_id, session_replay_segment_id,
    storage_key, event_count, byte_size, first_event_at, last_event_at)
VALUES (%(tenancy_id)s, gen_random_uuid(), %(replay_id)s, %(batch_id)s, %(browser_session_id)s,
        %(segment_id)s, %(key)s, %(event_count)s, %(byte_size)s, %(first)s, %(last)s)
ON CONFLICT (tenancy_id, session_replay_id, batch_id) DO NOTHING
RETURNING id
"""


async def insert_chunk(conn: AsyncConnection[Any], **params: Any) -> bool:
    """Record a stored batch; False when the replay already has this batch."""
    return await fetch_value(conn, uuid.UUID, INSERT_CHUNK, **params) is not None


# Newest first; the cursor is the last replay of the previous page.
SELECT_REPLAYS = """
SELECT r.id, r.user_id, u.display_name, cc.value AS primary_email, r.started_at,
       r.last_event_at, agg.chunk_count, agg.event_count
FROM session_replays r
JOIN users u ON u.tenancy_id = r.tenancy_id AND u.id = r.user_id
LEFT JOIN contact_channels cc
       ON cc.tenancy_id = r.tenancy_id AND cc.user_id = r.user_id AND cc.is_primary
CROSS JOIN LATERAL (
    SELECT count(*)::int AS chunk_count, COALESCE(SUM(c.event_count), 0)::int AS event_count
    FROM session_replay_chunks c WHERE c.tenancy_id = r.tenancy_id AND c.session_replay_id = r.id
) agg
WHERE r.tenancy_id = %(tenancy_id)s
  AND (%(user_ids)s::uuid[] IS NULL OR r.user_id = ANY(%(user_ids)s::uuid[]))
  AND (%(cursor_at)s::timestamptz IS NULL
       OR (r.last_event_at, r.id) < (%(cursor_at)s, %(cursor_id)s::uuid))
ORDER BY r.last_event_at DESC, r.id DESC
LIMIT %(limit)s
"""

SELECT_REPLAY_AT = """
SELECT last_event_at FROM session_replays WHERE tenancy_id = %(tenancy_id)s AND id = %(id)s
"""


async def select_replay_at(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, replay_id: str
) -> datetime | None:
    """The replay's last event time, or None when the tenancy has no such replay."""
    return await fetch_value(conn, datetime, SELECT_REPLAY_AT, tenancy_id=tenancy_id, id=replay_id)


async def select_replays(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    *,
    user_ids: list[str] | None,
    cursor: tuple[datetime, str] | None,
    limit: int,
) -> list[ReplayRow]:
    return await fetch_all(
        conn,
        ReplayRow,
        SELECT_REPLAYS,
        tenancy_id=tenancy_id,
        user_ids=user_ids,
        cursor_at=cursor[0] if cursor else None,
        cursor_id=cursor[1] if cursor else None,
        limit=limit,
    )


_CHUNK_COLUMNS = """
SELECT id, batch_id, session_replay_segment_id, browser_session_id, storage_key, event_count,
       byte_size, first_event_at, last_event_at, created_at
FROM session_replay_chunks
"""

# Oldest first (the player's order); the cursor is the last chunk of the previous page.
SELECT_CHUNKS = (
    _CHUNK_COLUMNS
    + """
WHERE tenancy_id = %(tenancy_id)s AND session_replay_id = %(replay_id)s
  AND (%(cursor_at)s::timestamptz IS NULL
       OR (first_event_at, id) > (%(cursor_at)s, %(cursor_id)s::uuid))
ORDER BY first_event_at, id
LIMIT %(limit)s
"""
)


async def select_chunks(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    replay_id: str,
    *,
    cursor: ChunkRow | None,
    limit: int,
) -> list[ChunkRow]:
    return await fetch_all(
        conn,
        ChunkRow,
        SELECT_CHUNKS,
        tenancy_id=tenancy_id,
        replay_id=replay_id,
        cursor_at=cursor.first_event_at if cursor else None,
        cursor_id=cursor.id if cursor else None,
        limit=limit,
    )


SELECT_CHUNK = (
    _CHUNK_COLUMNS
    + """
WHERE tenancy_id = %(tenancy_id)s AND session_replay_id = %(replay_id)s AND id = %(id)s
"""
)


async def select_chunk(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, replay_id: str, chunk_id: str
) -> ChunkRow | None:
    return await fetch_one(
        conn, ChunkRow, SELECT_CHUNK, tenancy_id=tenancy_id, replay_id=replay_id, id=chunk_id
    )
