"""The operator's backlog figures: one statement, each count served by a partial index.

Unlike every other query these are deployment-wide on purpose (no tenancy): they feed the
Prometheus gauges, which name no project. Each count stops at ``cap`` rows, so a scrape stays
cheap however far a queue has grown.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import fetch_one
from authstack_core.models.backlog import Backlog

# The WHERE clauses repeat the partial indexes' predicates (0002, 0012) word for word, so that
# the planner uses them.
SELECT_BACKLOG = """
SELECT
    (SELECT count(*) FROM (SELECT 1 FROM email_outbox
        WHERE status IN ('pending', 'retry_scheduled') LIMIT %(cap)s) e)::int
  + (SELECT count(*) FROM (SELECT 1 FROM email_outbox
        WHERE status = 'sending' LIMIT %(cap)s) s)::int AS email,
    (SELECT count(*) FROM (SELECT 1 FROM webhook_deliveries
        WHERE status IN ('pending', 'sending') LIMIT %(cap)s) d)::int AS webhook_deliveries,
    (SELECT count(*) FROM (SELECT 1 FROM webhook_events
        WHERE status = 'queued' LIMIT %(cap)s) v)::int AS webhook_events,
    (SELECT count(*) FROM (SELECT 1 FROM external_db_sync_requests
        LIMIT %(cap)s) r)::int AS external_db_sync,
    (SELECT coalesce(extract(epoch FROM now() - min(requested_at)), 0)::float8
        FROM external_db_sync_requests) AS sync_lag_seconds,
    (SELECT count(*) FROM (SELECT DISTINCT tenancy_id, target_id FROM external_db_sync_status
        WHERE last_error IS NOT NULL LIMIT %(cap)s) f)::int AS sync_failing_targets
"""


# Inside the caller's transaction: a scrape must not queue behind a struggling database.
SET_TIMEOUT = "SET LOCAL statement_timeout = '2s'"


async def select_backlog(conn: AsyncConnection[Any], cap: int) -> Backlog:
    """Run in a transaction: the statement gives up after 2 s."""
    await conn.execute(SET_TIMEOUT)
    row = await fetch_one(conn, Backlog, SELECT_BACKLOG, cap=cap)
    assert row is not None  # aggregates always answer
    return row
