"""Transactions that change what request authentication reads of a project."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection

from authstack_core.domain.context import Deps


@asynccontextmanager
async def changing_project(deps: Deps, project_id: str) -> AsyncIterator[AsyncConnection[Any]]:
    """A transaction on a pooled connection that changes ``project_id``: its row, tenancies,
    config levels or key sets.

    Once the transaction has ended (committed, rolled back, or lost midway), this process drops
    its cached copy of the project, so the writer's next request reads the change whatever the
    timing of the trigger's notice, which tells the other processes.
    """
    try:
        async with deps.pool.connection() as conn, conn.transaction():
            yield conn
    finally:
        if deps.project_cache is not None:
            deps.project_cache.invalidate(project_id)
