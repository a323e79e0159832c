"""Analytics (contract §1.7, §8): browser events in, admin SQL and query timings out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, post
from msgspec import Meta

from authstack_api.auth import AdminAuth, ServerAuth, UserAuth
from authstack_api.limits import limit
from authstack_api.responses import json_response
from authstack_api.schemas import MillisTimestamp, Strict
from authstack_core.analytics.admin_query import AdminQuery
from authstack_core.analytics.events import Event
from authstack_core.domain.context import Deps
from authstack_core.errors import (
    AnalyticsNotEnabled,
    AnalyticsQueryNotFound,
    SchemaError,
    UserAuthenticationRequired,
)

Uuid = Annotated[str, Meta(pattern=r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")]


# 2000-01-01 up to 2100-01-01: what a browser's clock may say (ClickHouse's DateTime64 stops at
# 2299, so a far-future time must be refused here rather than fail the insert).
EventAtMillis = Annotated[int, Meta(ge=946_684_800_000, lt=4_102_444_800_000)]


class BrowserEvent(Strict):
    event_type: Literal["$page-view", "$click"]
    event_at_ms: EventAtMillis
    data: dict[str, Any]


class EventsBatchBody(Strict):
    session_replay_segment_id: Uuid
    batch_id: Uuid
    sent_at_ms: MillisTimestamp
    events: Annotated[list[BrowserEvent], Meta(min_length=1, max_length=500)]


class QueryBody(Strict):
    query: Annotated[str, Meta(min_length=1, max_length=100_000)]
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    timeout_ms: Annotated[int, Meta(ge=1_000, le=120_000)] = 10_000
    include_all_branches: bool = False


class TimingBody(Strict):
    query_id: Annotated[str, Meta(min_length=1, max_length=512)]


@post("/api/v1/analytics/events/batch", status_code=200)
async def events_batch(
    auth: UserAuth, deps: Deps, data: EventsBatchBody, request: Request[Any, Any, Any]
) -> Response[bytes]:
    """Page views and clicks from the browser SDK, queued for ClickHouse (``{inserted}`` counts
    what was accepted; the write itself happens in batches after the answer)."""
    if not auth.project.config.analytics_enabled:
        raise AnalyticsNotEnabled()
    if auth.refresh_token_id is None:
        raise UserAuthenticationRequired()
    await limit(request, "analytics_events", account=auth.user.user_id)
    for event in data.events:
        deps.analytics.record(
            Event(
                event.event_type,
                auth.project.id,
                auth.branch_id,
                event.data,
                event_at=datetime.fromtimestamp(event.event_at_ms / 1000, UTC),
                user_id=auth.user.user_id,
                refresh_token_id=auth.refresh_token_id,
                session_replay_segment_id=data.session_replay_segment_id,
            )
        )
    return json_response({"inserted": len(data.events)})


@post("/api/v1/internal/analytics/query", status_code=200)
async def query(
    auth: AdminAuth, deps: Deps, data: QueryBody, request: Request[Any, Any, Any]
) -> Response[bytes]:
    """Run the admin's SQL over the project's views (``default.events``, ``default.users``, ...);
    see ``authstack_core.analytics.admin_query`` for how it is kept inside the project."""
    if data.include_all_branches:
        raise SchemaError(message="include_all_branches: only false is supported")
    await limit(request, "analytics_query", account=auth.project.id)
    rows, query_id = await deps.analytics.queries.run(
        AdminQuery(auth.project.id, auth.branch_id, data.query, data.params, data.timeout_ms)
    )
    return json_response({"result": rows, "query_id": query_id})


@post("/api/v1/internal/analytics/query/timing", status_code=200)
async def timing(auth: ServerAuth, deps: Deps, data: TimingBody) -> Response[bytes]:
    """CPU and wall-clock time of one of this project's recent queries (kept per API process)."""
    if not data.query_id.startswith(f"{auth.project.id}:{auth.branch_id}:"):
        raise AnalyticsQueryNotFound()
    stats = deps.analytics.queries.timing(data.query_id)
    if stats is None:
        raise AnalyticsQueryNotFound()
    return json_response(
        {"stats": {"cpu_time": stats.cpu_time_ms, "wall_clock_time": stats.wall_clock_time_ms}}
    )
