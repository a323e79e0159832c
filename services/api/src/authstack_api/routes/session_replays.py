"""Session replays (contract §1.7): rrweb batches in from the browser, admin listing and reads."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from msgspec import Meta

from authstack_api.auth import AdminAuth, UserAuth
from authstack_api.ids import check_uuid, is_uuid
from authstack_api.limits import limit
from authstack_api.paging import page_size
from authstack_api.responses import json_response
from authstack_api.schemas import MillisTimestamp, Strict
from authstack_core.domain import session_replays as replays
from authstack_core.domain.context import Deps
from authstack_core.errors import (
    AnalyticsNotEnabled,
    SessionReplayBatchTooLarge,
    SessionReplayNotFound,
    UserAuthenticationRequired,
)
from authstack_core.models.session_replays import NewChunk

Uuid = Annotated[str, Meta(pattern=r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")]
MAX_BATCH_BYTES = 1_000_000
MAX_BATCH_EVENTS = 5_000
LIST_PAGE, LIST_MAX = 50, 200
CHUNK_PAGE, CHUNK_MAX = 100, 500
# Chunks read back (from storage) by one /events request.
EVENTS_MAX_CHUNKS = 100

R = "/api/v1/internal/session-replays/{session_replay_id:str}"


class BatchBody(Strict):
    browser_session_id: Uuid
    session_replay_segment_id: Uuid
    batch_id: Uuid
    started_at_ms: MillisTimestamp
    sent_at_ms: MillisTimestamp
    events: Annotated[list[Any], Meta(min_length=1, max_length=MAX_BATCH_EVENTS)]


@post("/api/v1/session-replays/batch", status_code=200)
async def batch(
    auth: UserAuth, deps: Deps, data: BatchBody, request: Request[Any, Any, Any]
) -> Response[bytes]:
    """One batch of a browser's rrweb events, stored compressed in the private bucket."""
    if not auth.project.config.analytics_enabled:
        raise AnalyticsNotEnabled()
    if auth.refresh_token_id is None:
        raise UserAuthenticationRequired()
    if len(await request.body()) > MAX_BATCH_BYTES:
        raise SessionReplayBatchTooLarge(MAX_BATCH_BYTES)
    await limit(request, "session_replay_batch", account=auth.user.user_id)
    chunk = NewChunk(
        browser_session_id=data.browser_session_id.lower(),
        session_replay_segment_id=data.session_replay_segment_id.lower(),
        batch_id=data.batch_id.lower(),
        started_at_ms=data.started_at_ms,
        sent_at_ms=data.sent_at_ms,
        events=data.events,
    )
    stored = await replays.store_batch(
        deps, auth.project, auth.user.user_id, auth.refresh_token_id, chunk
    )
    return json_response(
        {
            "session_replay_id": str(stored.session_replay_id),
            "batch_id": stored.batch_id,
            "deduped": stored.deduped,
        }
    )


def _replay_id(value: str) -> str:
    # Any id this project has no replay by is not found, a malformed one included.
    if not is_uuid(value):
        raise SessionReplayNotFound()
    return value.lower()


@get("/api/v1/internal/session-replays")
async def list_replays(
    auth: AdminAuth,
    deps: Deps,
    limit: str | None = None,
    cursor: str | None = None,
    user_ids: str | None = None,
) -> Response[bytes]:
    """The project's replays, newest first; ``user_ids``: a comma-separated list of users."""
    users = None
    if user_ids:
        users = [check_uuid(u.strip(), "user_ids") for u in user_ids.split(",") if u.strip()]
    rows, next_cursor = await replays.list_replays(
        deps,
        auth.project,
        user_ids=users,
        cursor=_replay_id(cursor) if cursor is not None else None,
        limit=page_size(limit, LIST_PAGE, LIST_MAX),
    )
    return json_response(
        {"items": [r.json() for r in rows], "pagination": {"next_cursor": next_cursor}}
    )


@get(R + "/chunks")
async def list_chunks(
    auth: AdminAuth,
    deps: Deps,
    session_replay_id: str,
    limit: str | None = None,
    cursor: str | None = None,
) -> Response[bytes]:
    """The replay's chunks, oldest first, each with a short-lived presigned ``download_url`` of
    its gzip object (``{v, batch_id, ..., events}``)."""
    rows, next_cursor = await replays.list_chunks(
        deps,
        auth.project,
        _replay_id(session_replay_id),
        cursor=_replay_id(cursor) if cursor is not None else None,
        limit=page_size(limit, CHUNK_PAGE, CHUNK_MAX),
    )
    items = []
    for row in rows:
        url, expires_at = await replays.download_url(deps, row)
        items.append(
            row.json() | {"download_url": url, "download_url_expires_at_millis": expires_at}
        )
    return json_response({"items": items, "pagination": {"next_cursor": next_cursor}})


@get(R + "/events")
async def replay_events(
    auth: AdminAuth, deps: Deps, session_replay_id: str, limit: str | None = None
) -> Response[bytes]:
    """The replay's chunks and the events of its first ``limit`` chunks, read from storage."""
    rows, _ = await replays.list_chunks(
        deps,
        auth.project,
        _replay_id(session_replay_id),
        cursor=None,
        limit=page_size(limit, EVENTS_MAX_CHUNKS, EVENTS_MAX_CHUNKS),
    )
    events = [
        {"chunk_id": str(row.id), "events": await replays.chunk_events(deps, row)} for row in rows
    ]
    return json_response({"chunks": [r.json() for r in rows], "chunk_events": events})


@get(R + "/chunks/{chunk_id:str}/events")
async def chunk_events(
    auth: AdminAuth, deps: Deps, session_replay_id: str, chunk_id: str
) -> Response[bytes]:
    """One chunk's events, read from storage."""
    row = await replays.get_chunk(
        deps, auth.project, _replay_id(session_replay_id), _replay_id(chunk_id)
    )
    return json_response({"events": await replays.chunk_events(deps, row)})
