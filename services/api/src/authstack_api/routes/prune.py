"""``POST /api/v1/internal/prune-expired``: the cron's hourly deletion of rows long past their
expiry (``Authorization: Bearer $CRON_SECRET``)."""

from __future__ import annotations

from litestar import Response, post

from authstack_api.auth import HttpRequest, check_cron_secret
from authstack_api.responses import json_response
from authstack_api.routes.external_db_sync import MaxDurationMs
from authstack_core.domain import prune
from authstack_core.domain.context import Deps


@post("/api/v1/internal/prune-expired", status_code=200)
async def prune_expired(
    deps: Deps, request: HttpRequest, max_duration_ms: MaxDurationMs = None
) -> Response[bytes]:
    """Delete verification codes, OAuth flows and codes, CLI sign-in attempts and sessions whose
    expiry passed ``STACK_PRUNE_GRACE_DAYS`` ago, in bounded batches for at most
    ``maxDurationMs`` (default 20 s, cap 60 s). ``complete`` is false when the time ran out
    first; the next call goes on where this one stopped."""
    check_cron_secret(deps, request)
    result = await prune.prune_expired(deps, max_duration_ms)
    return json_response(result.json())
