"""The project overview of the dashboard (``/internal/metrics``, contract §1.7)."""

from __future__ import annotations

from typing import Literal

from litestar import Response, get

from authstack_api.auth import AdminAuth
from authstack_api.responses import json_response
from authstack_core.domain import metrics as domain
from authstack_core.domain.context import Deps


@get("/api/v1/internal/metrics", opt={"query": frozenset({"include_anonymous"})})
async def metrics(
    auth: AdminAuth, deps: Deps, include_anonymous: Literal["true", "false"] = "false"
) -> Response[bytes]:
    """Upstream's metrics object; see authstack_core.models.metrics for what is counted."""
    result = await domain.metrics(deps, auth.project, include_anonymous=include_anonymous == "true")
    config = auth.project.config
    return json_response(result.json(lambda user: user.json(auth.type, config)))


@get("/api/v1/internal/metrics/user-counts")
async def user_counts(auth: AdminAuth, deps: Deps) -> Response[bytes]:
    counts = await domain.user_counts(deps, auth.project)
    return json_response(
        {"total_users": counts.total_users, "anonymous_users": counts.anonymous_users}
    )
