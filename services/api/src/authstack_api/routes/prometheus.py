"""GET /metrics: the Prometheus exposition, for the operator's scraper (outside /api/v1)."""

from __future__ import annotations

from litestar import Response, get

from authstack_api import prometheus
from authstack_api.auth import HttpRequest
from authstack_api.limits import Limit
from authstack_core.domain.context import Deps
from authstack_core.errors import StatusError
from authstack_core.observability import exposition


@get("/metrics", include_in_schema=False, opt={"limit": Limit("metrics_scrape")})
async def metrics(request: HttpRequest, deps: Deps) -> Response[bytes]:
    """Every series of this API (of all its processes in multiprocess mode). With
    STACK_METRICS_TOKEN: its bearer only (401). Without: loopback clients outside production,
    nobody in production (404, as for a route that does not exist)."""
    client = request.client
    verdict = exposition.access(
        deps.settings.metrics_token,
        request.headers.get("authorization", ""),
        client.host if client else None,
        production=deps.settings.is_production,
    )
    if verdict == "unauthorized":
        raise StatusError(401, "Unauthorized: send Authorization: Bearer $STACK_METRICS_TOKEN.")
    if verdict == "hidden":
        raise StatusError(404, "404 — this API endpoint does not exist.")
    body = await prometheus.scrape(deps, request.app.state.metrics_sampler)
    return Response(body, media_type=exposition.MEDIA_TYPE)
