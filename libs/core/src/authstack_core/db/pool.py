"""Connection pool factory."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from authstack_core.settings import Settings


async def _configure(conn: AsyncConnection) -> None:
    # Every statement is short; a runaway one must not hold a pool slot forever.
    await conn.execute("SET statement_timeout = '30s'")
    await conn.execute("SET idle_in_transaction_session_timeout = '60s'")
    await conn.commit()


def make_pool(settings: Settings) -> AsyncConnectionPool:
    """An unopened pool; ``await pool.open(wait=True)`` in the service's start-up."""
    return AsyncConnectionPool(
        settings.database_url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        configure=_configure,
        open=False,
        kwargs={"autocommit": True},
        name="authstack",
    )
