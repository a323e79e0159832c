"""The API's own series (requests by route template, latency) and what a scrape refreshes first.

``observe`` runs once per request in the edge middleware, so it is kept to two dictionary
look-ups and two increments: the route template Litestar matched (never the raw path, so ids do
not multiply the series; "unmatched" for 404s, preflights and refusals before routing), the
method from a fixed list, and the status.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import structlog
from litestar import Litestar
from prometheus_client import Counter, Histogram

from authstack_core.domain.backlog import read_backlog
from authstack_core.domain.context import Deps
from authstack_core.observability import exposition, series
from authstack_core.observability.sampler import SAMPLE_EVERY_S, Sampler

log = structlog.get_logger(__name__)

REQUESTS = Counter(
    "authstack_http_requests",
    "HTTP requests answered by the API, by route template, method and status (the real status, "
    "also when x-stack-override-error-status turned it into 200).",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "authstack_http_request_duration_seconds",
    "Time from the request's arrival at the edge to the end of its answer, by route template.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"

# (route, method, status) -> the two children to move; bounded by the routes and statuses.
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe(scope: dict[str, Any], status: int, started: float) -> None:
    """Count one answered request (``started``: its ``time.perf_counter()`` at the edge)."""
    method = scope["method"]
    key = (
        scope.get("path_template") or UNMATCHED,
        method if method in METHODS else "OTHER",
        status,
    )
    children = _children.get(key)
    if children is None:
        route, method, _ = key
        children = (REQUESTS.labels(route, method, str(status)), LATENCY.labels(route, method))
        _children[key] = children
    children[0].inc()
    children[1].observe(time.perf_counter() - started)


async def scrape(deps: Deps, sampler: Sampler | None) -> bytes:
    """Refresh the sampled and PostgreSQL-read values, then the exposition."""
    if sampler is not None:
        sampler.sample()
    try:
        series.backlog(await read_backlog(deps))
    except Exception as exc:  # the database is down: serve the rest, keep the last figures
        log.warning("metrics: backlog not read", error=type(exc).__name__)
    return exposition.render()


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Sample this process's pool and event writer every few seconds (in multiprocess mode a
    scrape is answered by one process and reads the others' last samples), and take this
    process's live gauges away when it stops."""
    deps: Deps = app.state.deps
    sampler = Sampler(deps.pool, deps.analytics.writer, deps.project_cache)
    app.state.metrics_sampler = sampler

    async def run() -> None:
        while True:
            sampler.sample()
            await asyncio.sleep(SAMPLE_EVERY_S)

    task = asyncio.create_task(run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        exposition.process_exiting()
