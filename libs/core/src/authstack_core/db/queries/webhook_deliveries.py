"""Webhook delivery SQL: the fan-out of events, a lane's claims and outcomes, and recovery.

A delivery's life: pending -> sending (claimed by the worker holding its lane; attempt_count
bumped, an attempt row 'pending') -> succeeded | pending again (a retry, next_attempt_at later)
| failed (no attempts left, or refused for good). Only the holder of a lane's lock (an advisory
lock on its worker's connection, gone when that worker dies) sends or changes the lane's rows,
so a 'sending' row found by the lock's next holder is one whose worker died.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import fetch_all, fetch_flag
from authstack_core.models.webhooks import SVIX_LANE, AttemptRow, ClaimedDelivery

# One fan-out at a time per project (pg_advisory_xact_lock), so deliveries are made in the
# order the events became visible; the first key keeps these locks apart from any other use.
LOCK_FAN_OUT = "SELECT pg_advisory_xact_lock(%(space)s, hashtext(%(tenancy_id)s::text))"
_FAN_OUT_SPACE = 0x5EB0

# Each queued event of the project, oldest first: one delivery per endpoint that wants it
# (built-in), or one to the Svix application (Svix mode); then the event is dispatched.
FAN_OUT = """
WITH ev AS (
    SELECT id, event_id, event_type FROM webhook_events
    WHERE tenancy_id = %(tenancy_id)s AND status = 'queued'
    ORDER BY id
    LIMIT %(limit)s
), made AS (
    INSERT INTO webhook_deliveries (tenancy_id, event_id, endpoint_id)
    SELECT %(tenancy_id)s, ev.event_id, target.endpoint_id
    FROM ev CROSS JOIN LATERAL (
        SELECT e.id AS endpoint_id FROM webhook_endpoints e
        WHERE NOT %(svix)s AND e.tenancy_id = %(tenancy_id)s AND NOT e.disabled
          AND (e.event_types IS NULL OR ev.event_type = ANY (e.event_types))
        UNION ALL
        SELECT %(svix_lane)s::uuid WHERE %(svix)s
    ) AS target
    ORDER BY ev.id, target.endpoint_id
    ON CONFLICT DO NOTHING
)
UPDATE webhook_events w SET status = 'dispatched', dispatched_at = now()
FROM ev WHERE w.id = ev.id
"""


async def fan_out(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, *, svix: bool, limit: int
) -> int:
    """Dispatch up to ``limit`` queued events; return how many. Call inside a transaction."""
    await conn.execute(LOCK_FAN_OUT, {"space": _FAN_OUT_SPACE, "tenancy_id": tenancy_id})
    cur = await conn.execute(
        FAN_OUT, {"tenancy_id": tenancy_id, "svix": svix, "svix_lane": SVIX_LANE, "limit": limit}
    )
    return cur.rowcount


DUE_LANES = """
SELECT DISTINCT endpoint_id FROM webhook_deliveries
WHERE tenancy_id = %(tenancy_id)s AND status IN ('pending', 'sending') AND next_attempt_at <= now()
"""


async def due_lanes(conn: AsyncConnection[Any], tenancy_id: uuid.UUID) -> list[uuid.UUID]:
    cur = await conn.execute(DUE_LANES, {"tenancy_id": tenancy_id})
    return [row[0] for row in await cur.fetchall()]


LANE_IS_DUE = """
SELECT EXISTS (
    SELECT 1 FROM webhook_deliveries
    WHERE tenancy_id = %(tenancy_id)s AND endpoint_id = %(endpoint_id)s
      AND status IN ('pending', 'sending') AND next_attempt_at <= now()
)
"""


async def lane_is_due(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, endpoint_id: uuid.UUID
) -> bool:
    return await fetch_flag(conn, LANE_IS_DUE, tenancy_id=tenancy_id, endpoint_id=endpoint_id)


# Session-level: held across the lane's transactions, released by unlock or by the session's end.
_LANE = "%(space)s, hashtext(%(tenancy_id)s::text || %(endpoint_id)s::text)"
TRY_LOCK = "SELECT pg_try_advisory_lock(" + _LANE + ")"
UNLOCK = "SELECT pg_advisory_unlock(" + _LANE + ")"
_LANE_SPACE = 0x5EB1


async def try_lock(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, endpoint_id: uuid.UUID
) -> bool:
    return await fetch_flag(
        conn, TRY_LOCK, space=_LANE_SPACE, tenancy_id=tenancy_id, endpoint_id=endpoint_id
    )


async def unlock(conn: AsyncConnection[Any], tenancy_id: uuid.UUID, endpoint_id: uuid.UUID) -> None:
    await conn.execute(
        UNLOCK, {"space": _LANE_SPACE, "tenancy_id": tenancy_id, "endpoint_id": endpoint_id}
    )


_UNKNOWN = "the worker stopped during this attempt; its outcome is unknown"

# A lane's open deliveries, closed with their open attempts. Recovery (under the lane's lock):
# what a dead worker left 'sending' goes back, or fails when that was its last attempt (a
# message that kills workers must not loop). Failing (fail): every open delivery fails.
CLOSE_OPEN = """
WITH closed AS (
    UPDATE webhook_deliveries
    SET status = CASE WHEN %(fail)s OR attempt_count >= %(max_attempts)s THEN 'failed'
                      ELSE 'pending' END,
        claimed_at = NULL, next_attempt_at = now(), last_error = %(error)s,
        finished_at = CASE WHEN %(fail)s OR attempt_count >= %(max_attempts)s THEN now() END
    WHERE tenancy_id = %(tenancy_id)s AND endpoint_id = %(endpoint_id)s
      AND (status = 'sending' OR (%(fail)s AND status = 'pending'))
    RETURNING id
)
UPDATE webhook_attempts a SET status = 'failed', error = %(error)s
FROM closed WHERE a.delivery_id = closed.id AND a.status = 'pending'
"""


async def _close_open(
    conn: AsyncConnection[Any],
    tenancy_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    *,
    fail: bool,
    max_attempts: int,
    error: str,
) -> int:
    cur = await conn.execute(
        CLOSE_OPEN,
        {
            "tenancy_id": tenancy_id,
            "endpoint_id": endpoint_id,
            "fail": fail,
            "max_attempts": max_attempts,
            "error": error,
        },
    )
    return cur.rowcount


async def recover(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, endpoint_id: uuid.UUID, max_attempts: int
) -> int:
    """Take back what a dead worker left 'sending' on the lane; how many attempts that closed."""
    return await _close_open(
        conn, tenancy_id, endpoint_id, fail=False, max_attempts=max_attempts, error=_UNKNOWN
    )


async def fail_open(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, endpoint_id: uuid.UUID, error: str
) -> None:
    """Fail what the lane still had to send (its endpoint was disabled); replayable."""
    await _close_open(conn, tenancy_id, endpoint_id, fail=True, max_attempts=0, error=error)


SET_ASYNC_COMMIT = "SET LOCAL synchronous_commit TO OFF"
CLAIM = """
WITH c AS (
    UPDATE webhook_deliveries d
    SET status = 'sending', attempt_count = d.attempt_count + 1, claimed_at = now()
    WHERE d.id IN (
        SELECT id FROM webhook_deliveries
        WHERE tenancy_id = %(tenancy_id)s AND endpoint_id = %(endpoint_id)s
          AND status = 'pending' AND next_attempt_at <= now()
        ORDER BY id
        LIMIT %(limit)s
    )
    RETURNING d.id, d.tenancy_id, d.endpoint_id, d.event_id, d.attempt_count
), a AS (
    INSERT INTO webhook_attempts (tenancy_id, delivery_id, endpoint_id)
    SELECT tenancy_id, id, endpoint_id FROM c ORDER BY id
    RETURNING id, delivery_id
)
SELECT c.id, a.id AS attempt_id, c.attempt_count, e.event_id, e.project_id, e.event_type,
       e.payload
FROM c
JOIN a ON a.delivery_id = c.id
JOIN webhook_events e ON e.event_id = c.event_id
ORDER BY c.id
"""


async def claim(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, endpoint_id: uuid.UUID, limit: int
) -> list[ClaimedDelivery]:
    """The lane's next due deliveries in order, each now 'sending' with a 'pending' attempt.

    The claim's commit need not wait for the disk: the outcome, recorded next, commits
    synchronously; a claim lost in a crash leaves the rows pending, as if never claimed.
    """
    await conn.execute(SET_ASYNC_COMMIT)
    return await fetch_all(
        conn,
        ClaimedDelivery,
        CLAIM,
        tenancy_id=tenancy_id,
        endpoint_id=endpoint_id,
        limit=limit,
    )


# delay NULL and not ok: failed for good; delay set: try again that many seconds from now.
RECORD = """
WITH o AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(attempt_ids)s::bigint[], %(ok)s::boolean[],
                         %(codes)s::integer[], %(errors)s::text[], %(delays)s::float8[])
        AS o (id, attempt_id, ok, code, error, delay)
), d AS (
    UPDATE webhook_deliveries d
    SET status = CASE WHEN o.ok THEN 'succeeded' WHEN o.delay IS NULL THEN 'failed'
                      ELSE 'pending' END,
        claimed_at = NULL, last_status_code = o.code, last_error = o.error,
        next_attempt_at = CASE WHEN o.ok OR o.delay IS NULL THEN d.next_attempt_at
                               ELSE now() + make_interval(secs => o.delay) END,
        finished_at = CASE WHEN o.ok OR o.delay IS NULL THEN now() END
    FROM o WHERE d.id = o.id AND d.status = 'sending'
)
UPDATE webhook_attempts a
SET status = CASE WHEN o.ok THEN 'succeeded' ELSE 'failed' END,
    response_status_code = o.code, error = o.error
FROM o WHERE a.id = o.attempt_id
"""


async def record(
    conn: AsyncConnection[Any],
    outcomes: Sequence[tuple[ClaimedDelivery, bool, int | None, str | None, float | None]],
) -> None:
    """Record (delivery, ok, status code, error, retry delay or None) for each sent delivery."""
    await conn.execute(
        RECORD,
        {
            "ids": [d.id for d, *_ in outcomes],
            "attempt_ids": [d.attempt_id for d, *_ in outcomes],
            "ok": [o[1] for o in outcomes],
            "codes": [o[2] for o in outcomes],
            "errors": [o[3] for o in outcomes],
            "delays": [o[4] for o in outcomes],
        },
    )


# Claimed but never sent (the lane stopped early): as if never claimed.
RELEASE = """
WITH r AS (
    UPDATE webhook_deliveries
    SET status = 'pending', attempt_count = attempt_count - 1, claimed_at = NULL
    WHERE id = ANY (%(ids)s) AND status = 'sending'
    RETURNING id
)
DELETE FROM webhook_attempts a USING r WHERE a.delivery_id = r.id AND a.status = 'pending'
"""


async def release(conn: AsyncConnection[Any], ids: list[int]) -> None:
    await conn.execute(RELEASE, {"ids": ids})


DROP_LANE = """
DELETE FROM webhook_deliveries WHERE tenancy_id = %(tenancy_id)s AND endpoint_id = %(endpoint_id)s
"""


async def drop_lane(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, endpoint_id: uuid.UUID
) -> None:
    """Delete a lane whose endpoint is gone (made by a fan-out racing the endpoint's deletion)."""
    await conn.execute(DROP_LANE, {"tenancy_id": tenancy_id, "endpoint_id": endpoint_id})


# --- the admin API --------------------------------------------------------------------------------

SELECT_ATTEMPTS = """
SELECT 'msg_' || replace(e.event_id::text, '-', '') AS message_id, e.event_type, a.status,
       a.response_status_code, a.error, a.attempted_at
FROM webhook_attempts a
JOIN webhook_deliveries d ON d.id = a.delivery_id
JOIN webhook_events e ON e.event_id = d.event_id
WHERE a.tenancy_id = %(tenancy_id)s AND a.endpoint_id = %(endpoint_id)s
ORDER BY a.id DESC
LIMIT %(limit)s
"""


async def select_attempts(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, endpoint_id: uuid.UUID, limit: int
) -> list[AttemptRow]:
    return await fetch_all(
        conn,
        AttemptRow,
        SELECT_ATTEMPTS,
        tenancy_id=tenancy_id,
        endpoint_id=endpoint_id,
        limit=limit,
    )


EVENT_EXISTS = """
SELECT EXISTS (
    SELECT 1 FROM webhook_events WHERE tenancy_id = %(tenancy_id)s AND event_id = %(event_id)s
)
"""
# Send a finished message again, with a full schedule of attempts, to each endpoint it reached.
REQUEUE = """
UPDATE webhook_deliveries
SET status = 'pending', attempt_count = 0, next_attempt_at = now(), finished_at = NULL
WHERE tenancy_id = %(tenancy_id)s AND event_id = %(event_id)s
  AND status IN ('succeeded', 'failed')
"""


async def requeue(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, event_id: uuid.UUID
) -> int | None:
    """How many deliveries of the event will be sent again; None if the project has no such
    event."""
    if not await fetch_flag(conn, EVENT_EXISTS, tenancy_id=tenancy_id, event_id=event_id):
        return None
    cur = await conn.execute(REQUEUE, {"tenancy_id": tenancy_id, "event_id": event_id})
    return cur.rowcount


# --- the cron step --------------------------------------------------------------------------------

# Projects with work whose wake-up is overdue: queued events, and deliveries due (or claimed by a
# worker that may have died) for longer than requeue_after.
OVERDUE_TENANCIES = """
SELECT tenancy_id FROM webhook_events
WHERE status = 'queued' AND created_at < now() - make_interval(secs => %(after)s)
UNION
SELECT tenancy_id FROM webhook_deliveries
WHERE status IN ('pending', 'sending')
  AND next_attempt_at < now() - make_interval(secs => %(after)s)
LIMIT %(limit)s
"""


async def overdue_tenancies(
    conn: AsyncConnection[Any], *, requeue_after: float, limit: int
) -> list[uuid.UUID]:
    cur = await conn.execute(OVERDUE_TENANCIES, {"after": requeue_after, "limit": limit})
    return [row[0] for row in await cur.fetchall()]
