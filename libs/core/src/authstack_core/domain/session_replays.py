"""Session replays: storing a browser's rrweb batches and reading them back for admins.

A batch's events are gzipped and written to the private bucket under an unguessable key before
any row is written, so storage being down leaves nothing behind; the rows (replay and chunk) are
then written in one transaction, and a batch the replay already holds (a retry) is not stored
twice. A batch joins the session's (refresh token's) replay while its events keep coming; after
``REPLAY_IDLE`` without any, the next batch starts a new replay.
"""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import structlog

from authstack_core.db.queries import session_replays as q
from authstack_core.domain.context import Deps
from authstack_core.errors import (
    SessionReplayBudgetExceeded,
    SessionReplayNotFound,
    SessionReplayStorageUnavailable,
)
from authstack_core.models.projects import TenantProject
from authstack_core.models.session_replays import ChunkRow, NewChunk, ReplayRow, StoredBatch
from authstack_core.storage import ObjectStore, StorageUnavailableError, new_key

log = structlog.get_logger(__name__)

REPLAY_IDLE = timedelta(minutes=30)


def _event_times(chunk: NewChunk) -> tuple[datetime, datetime]:
    """The first and last rrweb ``timestamp`` of the batch (its send time when none has one)."""
    stamps = [
        e["timestamp"]
        for e in chunk.events
        if isinstance(e, dict)
        and isinstance(e.get("timestamp"), int | float)
        and 0 <= e["timestamp"] < 253_402_300_800_000
    ]
    first, last = (min(stamps), max(stamps)) if stamps else (chunk.sent_at_ms, chunk.sent_at_ms)
    return datetime.fromtimestamp(first / 1000, UTC), datetime.fromtimestamp(last / 1000, UTC)


def _store(deps: Deps) -> ObjectStore:
    if deps.storage is None:
        raise SessionReplayStorageUnavailable()
    return deps.storage


async def store_batch(
    deps: Deps, project: TenantProject, user_id: str, refresh_token_id: str, chunk: NewChunk
) -> StoredBatch:
    """Store one batch of the session's replay.

    Raise SessionReplayBudgetExceeded when the project's stored replays already reach its budget,
    and SessionReplayStorageUnavailable when storage is absent or fails (nothing written then).
    """
    store = _store(deps)
    tenancy = project.tenancy_id
    async with deps.pool.connection() as conn:
        done = await q.select_batch_replay(conn, tenancy, refresh_token_id, chunk.batch_id)
        if done is not None:
            return StoredBatch(done, chunk.batch_id, deduped=True)
        used = await q.select_project_bytes(conn, project.id)
    if used >= deps.settings.session_replay_project_budget_bytes:
        raise SessionReplayBudgetExceeded()

    first, last = _event_times(chunk)
    key = new_key(f"session-replays/{project.id}", "json.gz")
    replay_id = uuid.uuid4()  # kept in the object only when it starts a replay; see below
    payload = {
        "v": 1,
        "browser_session_id": chunk.browser_session_id,
        "session_replay_segment_id": chunk.session_replay_segment_id,
        "batch_id": chunk.batch_id,
        "started_at_ms": chunk.started_at_ms,
        "sent_at_ms": chunk.sent_at_ms,
        "events": chunk.events,
    }
    data = await anyio.to_thread.run_sync(
        lambda: gzip.compress(json.dumps(payload, separators=(",", ":")).encode(), 6)
    )
    try:
        await store.put_private(key, data, "application/gzip")
    except StorageUnavailableError as exc:
        log.warning("session_replay_store_failed", error=str(exc))
        raise SessionReplayStorageUnavailable() from None

    try:
        async with deps.pool.connection() as conn, conn.transaction():
            recent = await q.select_recent_replay(
                conn, tenancy, refresh_token_id, first - REPLAY_IDLE
            )
            replay_id = recent or replay_id
            await q.upsert_replay(
                conn,
                tenancy_id=tenancy,
                replay_id=replay_id,
                user_id=user_id,
                refresh_token_id=refresh_token_id,
                first=first,
                last=last,
            )
            stored = await q.insert_chunk(
                conn,
                tenancy_id=tenancy,
                replay_id=replay_id,
                batch_id=chunk.batch_id,
                browser_session_id=chunk.browser_session_id,
                segment_id=chunk.session_replay_segment_id,
                key=key,
                event_count=len(chunk.events),
                byte_size=len(data),
                first=first,
                last=last,
            )
    except BaseException:
        await _drop(store, key)
        raise
    if not stored:  # the same batch arrived twice at once: the other request's copy stays
        await _drop(store, key)
    return StoredBatch(replay_id, chunk.batch_id, deduped=not stored)


async def _drop(store: ObjectStore, key: str) -> None:
    try:
        await store.delete_private(key)
    except StorageUnavailableError as exc:  # an orphan in the private bucket; logged
        log.warning("session_replay_orphan", key=key, error=str(exc))


async def list_replays(
    deps: Deps,
    project: TenantProject,
    *,
    user_ids: list[str] | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[ReplayRow], str | None]:
    """A page of the tenancy's replays, newest first, and the next page's cursor.

    Raise SessionReplayNotFound when ``cursor`` names no replay of the tenancy.
    """
    async with deps.pool.connection() as conn:
        after = None
        if cursor is not None:
            at = await q.select_replay_at(conn, project.tenancy_id, cursor)
            if at is None:
                raise SessionReplayNotFound()
            after = (at, cursor)
        rows = await q.select_replays(
            conn, project.tenancy_id, user_ids=user_ids, cursor=after, limit=limit + 1
        )
    more = len(rows) > limit
    page = rows[:limit]
    return page, str(page[-1].id) if more else None


async def list_chunks(
    deps: Deps, project: TenantProject, replay_id: str, *, cursor: str | None, limit: int
) -> tuple[list[ChunkRow], str | None]:
    """A page of the replay's chunks, oldest first, and the next page's cursor.

    Raise SessionReplayNotFound when the tenancy has no such replay (or cursor chunk).
    """
    async with deps.pool.connection() as conn:
        if await q.select_replay_at(conn, project.tenancy_id, replay_id) is None:
            raise SessionReplayNotFound()
        after = None
        if cursor is not None:
            after = await q.select_chunk(conn, project.tenancy_id, replay_id, cursor)
            if after is None:
                raise SessionReplayNotFound()
        rows = await q.select_chunks(
            conn, project.tenancy_id, replay_id, cursor=after, limit=limit + 1
        )
    more = len(rows) > limit
    page = rows[:limit]
    return page, str(page[-1].id) if more else None


async def download_url(deps: Deps, chunk: ChunkRow) -> tuple[str, int]:
    """A presigned URL of the chunk's gzip object, and when it expires (ms since the epoch)."""
    expires_s = deps.settings.session_replay_url_expiry_seconds
    url = await _store(deps).presigned_private_url(chunk.storage_key, expires_s)
    return url, int((datetime.now(UTC).timestamp() + expires_s) * 1000)


async def chunk_events(deps: Deps, chunk: ChunkRow) -> list[Any]:
    """The events stored for ``chunk``, read back from storage.

    Raise SessionReplayStorageUnavailable when storage is absent or fails.
    """
    try:
        data = await _store(deps).get_private(chunk.storage_key)
    except StorageUnavailableError as exc:
        log.warning("session_replay_read_failed", error=str(exc))
        raise SessionReplayStorageUnavailable() from None
    body = await anyio.to_thread.run_sync(lambda: json.loads(gzip.decompress(data)))
    events: list[Any] = body["events"]
    return events


async def get_chunk(deps: Deps, project: TenantProject, replay_id: str, chunk_id: str) -> ChunkRow:
    """One chunk of the tenancy's replay; SessionReplayNotFound when there is none."""
    async with deps.pool.connection() as conn:
        row = await q.select_chunk(conn, project.tenancy_id, replay_id, chunk_id)
    if row is None:
        raise SessionReplayNotFound()
    return row
