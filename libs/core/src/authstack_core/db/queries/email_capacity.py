"""Email sending capacity SQL: a tenancy's bucket and boost, its delivery counts, and holding an
outbox row back until the sending slot it reserved.

The bucket is one row per tenancy (``email_sending_state``): ``tokens`` at ``refilled_at``, refilled
at the tenancy's rate up to its burst. Taking a share always succeeds: a negative balance is a
debt, and the row that ran it up waits until the debt is repaid (its reserved slot), so a backlog
is spread over time in order instead of every row retrying at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import fetch_one, fetch_value


@dataclass(slots=True)
class WaitingHead:
    """What the capacity check reads of a due outbox row before claiming it."""

    tenancy_id: uuid.UUID
    is_high_priority: bool
    capacity_slot_at: datetime | None
    slot_due: bool  # the reserved slot (if any) has come


@dataclass(slots=True)
class SendingState:
    boost_expires_at: datetime | None
    boost_active: bool
    month_sent: int
    month_count_stale: bool  # counted more than COUNT_TTL ago, or never


@dataclass(slots=True)
class DeliveryCounts:
    hour: int
    day: int
    week: int
    month: int


SELECT_WAITING_HEAD = """
SELECT tenancy_id, is_high_priority, capacity_slot_at,
       coalesce(capacity_slot_at <= now(), false) AS slot_due
FROM email_outbox
WHERE id = %(id)s AND status IN ('pending', 'retry_scheduled') AND next_attempt_at <= now()
"""


async def select_waiting_head(
    conn: AsyncConnection[Any], outbox_id: uuid.UUID
) -> WaitingHead | None:
    """The row if it is waiting and due (what a claim would take), else None."""
    return await fetch_one(conn, WaitingHead, SELECT_WAITING_HEAD, id=outbox_id)


# The monthly count is cached in the state row: counting on every claim would cost a scan of the
# tenancy's month of sent mail each time.
COUNT_TTL_SECONDS = 300
ENSURE_STATE = """
INSERT INTO email_sending_state (tenancy_id, tokens) VALUES (%(tenancy_id)s, %(burst)s)
ON CONFLICT (tenancy_id) DO NOTHING
"""
SELECT_STATE = f"""
SELECT boost_expires_at, coalesce(boost_expires_at > now(), false) AS boost_active, month_sent,
       (month_counted_at IS NULL
        OR month_counted_at < now() - interval '{COUNT_TTL_SECONDS} seconds') AS month_count_stale
FROM email_sending_state WHERE tenancy_id = %(tenancy_id)s
"""
COUNT_MONTH_SENT = """
SELECT count(*)::int FROM email_outbox
WHERE tenancy_id = %(tenancy_id)s AND status = 'sent' AND sent_at >= now() - interval '1 month'
"""
SAVE_MONTH_SENT = """
UPDATE email_sending_state SET month_sent = %(count)s, month_counted_at = now()
WHERE tenancy_id = %(tenancy_id)s
"""


async def sending_state(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, *, initial_tokens: float
) -> SendingState:
    """The tenancy's state row (created with a full bucket the first time), its monthly count
    refreshed when stale."""
    await conn.execute(ENSURE_STATE, {"tenancy_id": tenancy_id, "burst": initial_tokens})
    state = await fetch_one(conn, SendingState, SELECT_STATE, tenancy_id=tenancy_id)
    assert state is not None, "ENSURE_STATE made the row"
    if state.month_count_stale:
        count = await fetch_value(conn, int, COUNT_MONTH_SENT, tenancy_id=tenancy_id) or 0
        await conn.execute(SAVE_MONTH_SENT, {"tenancy_id": tenancy_id, "count": count})
        state.month_sent = count
        state.month_count_stale = False
    return state


# clock_timestamp(): the row lock orders concurrent takes, and each must see the time it runs
# at, not its transaction's start (which may precede the previous take's refill).
TAKE_TOKEN = """
UPDATE email_sending_state
SET tokens = least(%(burst)s::float8, tokens + greatest(0, extract(epoch FROM clock_timestamp()
                 - refilled_at)::float8) * %(rate)s::float8) - 1,
    refilled_at = clock_timestamp()
WHERE tenancy_id = %(tenancy_id)s
RETURNING tokens
"""


async def take_token(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, *, rate_per_second: float, burst: float
) -> float:
    """Take one share; the balance after it (negative: that many shares are owed)."""
    tokens = await fetch_value(
        conn, float, TAKE_TOKEN, tenancy_id=tenancy_id, rate=rate_per_second, burst=burst
    )
    assert tokens is not None, "sending_state made the row"
    return tokens


DEFER = """
UPDATE email_outbox
SET next_attempt_at = now() + make_interval(secs => %(seconds)s),
    capacity_slot_at = now() + make_interval(secs => %(seconds)s),
    wakeup_due_at = CASE WHEN %(wakeup)s THEN now() + make_interval(secs => %(seconds)s) END,
    updated_at = now()
WHERE id = %(id)s AND status IN ('pending', 'retry_scheduled') AND next_attempt_at <= now()
RETURNING next_attempt_at
"""


async def defer(
    conn: AsyncConnection[Any], outbox_id: uuid.UUID, *, seconds: float, wakeup: bool
) -> datetime | None:
    """Hold a waiting row back until its slot, ``seconds`` from now; None if it is no longer
    waiting (claimed, paused or cancelled meanwhile). ``wakeup``: one will be sent for it."""
    return await fetch_value(conn, datetime, DEFER, id=outbox_id, seconds=seconds, wakeup=wakeup)


# --- the boost and the delivery statistics ------------------------------------------------------

START_BOOST = """
INSERT INTO email_sending_state AS s (tenancy_id, tokens, boost_expires_at)
VALUES (%(tenancy_id)s, %(burst)s, now() + make_interval(secs => %(seconds)s))
ON CONFLICT (tenancy_id) DO UPDATE
SET boost_expires_at = excluded.boost_expires_at
WHERE s.boost_expires_at IS NULL OR s.boost_expires_at <= now()
RETURNING boost_expires_at
"""
SELECT_BOOST = """
SELECT boost_expires_at FROM email_sending_state WHERE tenancy_id = %(tenancy_id)s
"""


async def start_boost(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, *, seconds: float, initial_tokens: float
) -> datetime | None:
    """Start a boost ending ``seconds`` from now; None if one is already running."""
    return await fetch_value(
        conn,
        datetime,
        START_BOOST,
        tenancy_id=tenancy_id,
        seconds=seconds,
        burst=initial_tokens,
    )


async def select_boost(conn: AsyncConnection[Any], tenancy_id: uuid.UUID) -> datetime | None:
    return await fetch_value(conn, datetime, SELECT_BOOST, tenancy_id=tenancy_id)


COUNT_SENT = """
SELECT count(*) FILTER (WHERE sent_at >= now() - interval '1 hour')::int AS hour,
       count(*) FILTER (WHERE sent_at >= now() - interval '1 day')::int AS day,
       count(*) FILTER (WHERE sent_at >= now() - interval '1 week')::int AS week,
       count(*)::int AS month
FROM email_outbox
WHERE tenancy_id = %(tenancy_id)s AND status = 'sent' AND sent_at >= now() - interval '1 month'
"""


async def count_sent(conn: AsyncConnection[Any], tenancy_id: uuid.UUID) -> DeliveryCounts:
    counts = await fetch_one(conn, DeliveryCounts, COUNT_SENT, tenancy_id=tenancy_id)
    assert counts is not None, "an aggregate always returns a row"
    return counts
