"""Deleting rows long past their expiry (``domain.prune``): one bounded batch per statement.

Each statement picks at most ``limit`` rows of any tenancy through an index on ``expires_at``
(0024 built the ones refresh_tokens and verification_codes lacked) and deletes them by their
physical address (ctid: a TID scan of those rows only; deleting by primary key ``IN (...)`` makes
PostgreSQL hash-join the whole table for every batch). A row changed since the inner SELECT read
it has moved, so it is left for the next batch; the condition is repeated on the rows deleted
all the same. Deleting a session or a team invitation leaves an external-DB-sync tombstone
(trigger of 0013), as any deletion does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, LiteralString

from psycopg import AsyncConnection

# A session is pruned only once its last use is older than ``activity`` too: the metrics' daily
# activity is read from sessions' creation and last use (db.queries.metrics), and an expired
# session still counts for the days it was used. It cannot be used after it expires, so from
# then on its last use only grows older.
_EXPIRED = "expires_at < now() - %(grace)s"
_SESSION_EXPIRED = (
    "expires_at IS NOT NULL AND expires_at < now() - %(grace)s"
    " AND last_active_at < now() - %(activity)s"
)


def _batch(table: LiteralString, expired: LiteralString) -> LiteralString:
    return (
        "DELETE FROM " + table + " WHERE ctid = ANY(ARRAY("
        "SELECT ctid FROM " + table + " WHERE " + expired + " LIMIT %(limit)s"
        ")) AND " + expired
    )


# Table -> its batch, in the order a pass visits them. Never NULL expiries: refresh tokens
# without one (sessions that never expire) are not matched by the comparison, and the other
# tables' expires_at is NOT NULL.
DELETE_EXPIRED: dict[str, LiteralString] = {
    "verification_codes": _batch("verification_codes", _EXPIRED),
    "oauth_outer_infos": _batch("oauth_outer_infos", _EXPIRED),
    "oauth_authorization_codes": _batch("oauth_authorization_codes", _EXPIRED),
    "cli_auth_attempts": _batch("cli_auth_attempts", _EXPIRED),
    "refresh_tokens": _batch("refresh_tokens", _SESSION_EXPIRED),
}
TABLES: tuple[str, ...] = tuple(DELETE_EXPIRED)


async def delete_expired(
    conn: AsyncConnection[Any],
    table: str,
    *,
    grace: timedelta,
    activity: timedelta,
    limit: int,
) -> int:
    """Delete up to ``limit`` rows of ``table`` (one of TABLES, any tenancy) that expired
    ``grace`` ago or more; returns how many went."""
    params: dict[str, Any] = {"grace": grace, "limit": limit}
    if table == "refresh_tokens":
        params["activity"] = activity
    cur = await conn.execute(DELETE_EXPIRED[table], params)
    return cur.rowcount
