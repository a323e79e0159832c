"""Connection pool factory, and how a database outage is told apart from other errors.

While PostgreSQL is unreachable a request waits at most ``STACK_DATABASE_POOL_TIMEOUT_SECONDS``
for a connection (``PoolTimeout``); the API answers that, and any lost connection, with 503 and
``Retry-After`` (``database_unavailable``). The pool replaces lost connections by itself, so the
service recovers without a restart once the database is back:

* a connection the server closed while it sat idle (a restart) is noticed at checkout, almost for
  free (``_still_connected``), and replaced instead of failing the request that took it;
* a lost connection is retried after about 1, 2, 4 and 8 s (psycopg_pool's backoff), for at most
  ``RECONNECT_TIMEOUT_S``; after that the next request that finds the pool empty starts a new
  attempt at once, so the gap between the database coming back and the first success stays
  short however long the outage was;
* a connection attempt gives up after ``CONNECT_TIMEOUT_S`` (a host that drops packets would
  otherwise hold a pool worker for minutes), unless the connection string sets its own.
"""

from __future__ import annotations

import select

import psycopg
from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from authstack_core.settings import Settings

RECONNECT_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5
# SQLSTATEs of a server that is going away or not there yet: admin_shutdown, crash_shutdown,
# cannot_connect_now (starting up, shutting down, in recovery). Class 08 is connection exceptions.
_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03"})


async def _configure(conn: AsyncConnection) -> None:
    # Every statement is short; a runaway one must not hold a pool slot forever.
    await conn.execute("SET statement_timeout = '30s'")
    await conn.execute("SET idle_in_transaction_session_timeout = '60s'")
    await conn.commit()


async def _still_connected(conn: AsyncConnection) -> None:
    """The pool's check at checkout: raise if the server has let this idle connection go.

    An idle connection has nothing to read, unless the server said goodbye (a restart sends a
    FATAL message and closes the socket). A zero-timeout poll of the socket costs a system call;
    only when something is there does a round trip decide (a harmless notice passes it).
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    poller = select.poll()
    poller.register(conn.pgconn.socket, select.POLLIN)
    if poller.poll(0):
        await conn.execute("")


def make_pool(settings: Settings) -> AsyncConnectionPool:
    """An unopened pool; ``await pool.open(wait=True)`` in the service's start-up."""
    kwargs: dict[str, object] = {"autocommit": True}
    if "connect_timeout" not in conninfo_to_dict(settings.database_url):
        kwargs["connect_timeout"] = CONNECT_TIMEOUT_S
    return AsyncConnectionPool(
        settings.database_url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        configure=_configure,
        check=_still_connected,
        timeout=settings.db_pool_timeout_seconds,
        reconnect_timeout=RECONNECT_TIMEOUT_S,
        open=False,
        kwargs=kwargs,
        name="authstack",
    )


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) says the database cannot be reached right now: no
    connection within the pool's wait, a connection lost or refused, a server shutting down or
    starting up. Not a query's own failure (a constraint, a statement timeout)."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, psycopg.OperationalError):
            state = current.sqlstate
            # No SQLSTATE: the client's own verdict (pool timeout, connection lost or refused).
            if state is None or state.startswith("08") or state in _UNAVAILABLE_STATES:
                return True
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return False
