"""Queue depths and sync lag for the metrics scrape, read from PostgreSQL in one bounded query."""

from __future__ import annotations

from authstack_core.db.queries import backlog as q
from authstack_core.domain.context import Deps
from authstack_core.models.backlog import Backlog

# Counts stop here: a queue this long is an incident whatever its exact length.
COUNT_CAP = 100_000


async def read_backlog(deps: Deps) -> Backlog:
    """The deployment's backlog (every project together), within 2 s to get a connection and 2 s
    for the statement; raises the pool's or psycopg's error otherwise."""
    async with deps.pool.connection(timeout=2) as conn, conn.transaction():
        return await q.select_backlog(conn, COUNT_CAP)
