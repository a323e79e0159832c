"""The project cache's listener runs as long as the app: started after the pool, stopped first."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar

from authstack_core.db import project_listener
from authstack_core.domain.context import Deps


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Keep the LISTEN connection of ``deps.project_cache`` (none when the cache is off); until it
    listens, requests read PostgreSQL."""
    deps: Deps = app.state.deps
    cache = deps.project_cache
    if cache is None:
        yield
        return
    task = asyncio.create_task(
        project_listener.listen(deps.settings.database_url, cache), name="project-cache-listener"
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
