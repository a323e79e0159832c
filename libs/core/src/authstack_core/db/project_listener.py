"""The LISTEN connection that keeps a ``ProjectCache`` honest (one per API process).

It holds its own autocommit connection (a pooled one would be lent out and reset), named
``authstack-project-cache-<pid>`` in ``pg_stat_activity``, and hands every notice of channel
``authstack_project_changed`` (sent by the triggers of migration 0023) to the cache. Any failure,
including a silent one found by the heartbeat, turns the cache off until a new connection listens;
it is retried after 0.1 s, doubling up to 2 s.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import psycopg
import structlog
from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict

from authstack_core.db.pool import CONNECT_TIMEOUT_S
from authstack_core.db.project_cache import ProjectCache

log = structlog.get_logger(__name__)

CHANNEL = "authstack_project_changed"
LISTEN = sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL))
# A connection that died without a word (a host gone, a cable pulled) sends no error: a round trip
# this often finds it, within the timeout. Until then the TTL bounds what the cache may serve.
HEARTBEAT_S = 5.0
HEARTBEAT_TIMEOUT_S = 3.0
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 2.0


def application_name(pid: int | None = None) -> str:
    """The listener's name in ``pg_stat_activity`` for the process ``pid`` (this one)."""
    return f"authstack-project-cache-{pid or os.getpid()}"


async def listen(database_url: str, cache: ProjectCache) -> None:
    """Run until cancelled: keep one connection listening and pass each notice to ``cache``.

    The cache serves only between ``listener_connected`` (after LISTEN took effect) and
    ``listener_lost`` (any error, or cancellation).
    """
    delay = RETRY_FIRST_S
    try:
        while True:
            connected_at = None
            try:
                async with await _connect(database_url) as conn:
                    await conn.execute(LISTEN)
                    cache.listener_connected()
                    connected_at = time.monotonic()
                    log.info("project cache: listening for project changes")
                    await _follow(conn, cache)
            except Exception as exc:  # any failure means: stop serving, retry
                if cache.listening:
                    log.warning(
                        "project cache: listener lost; requests read PostgreSQL until it is back",
                        error=type(exc).__name__,
                    )
                cache.listener_lost()
            if connected_at is not None and time.monotonic() - connected_at > RETRY_MAX_S:
                delay = RETRY_FIRST_S
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)
    finally:
        cache.listener_lost()


async def _connect(database_url: str) -> AsyncConnection[Any]:
    kwargs: dict[str, Any] = {"autocommit": True, "application_name": application_name()}
    if "connect_timeout" not in conninfo_to_dict(database_url):
        kwargs["connect_timeout"] = CONNECT_TIMEOUT_S
    return await psycopg.AsyncConnection.connect(database_url, **kwargs)


async def _follow(conn: AsyncConnection[Any], cache: ProjectCache) -> None:
    """Pass notices on until the connection fails (raises)."""
    while True:
        async for notice in conn.notifies(timeout=HEARTBEAT_S):
            cache.invalidate(notice.payload)
        async with asyncio.timeout(HEARTBEAT_TIMEOUT_S):
            await conn.execute("SELECT 1")
