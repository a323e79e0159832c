"""Email outbox SQL: writing a row, the worker's claim and outcomes, the cron step's recovery.

A row's life: pending → sending (claimed under a lease; attempt_count is the fencing token) →
sent | retry_scheduled (→ sending again) | failed | skipped. Before sending starts an admin may
pause it (→ paused → pending again) or cancel it (→ cancelled); neither is ever claimed.
Outcomes are recorded only by the claim that holds the row (same status and attempt), so a worker
that lost its lease cannot overwrite what a later attempt recorded.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import fetch_one, fetch_value
from authstack_core.models.emails import ClaimedRow

INSERT_OUTBOX = """
INSERT INTO email_outbox (id, tenancy_id, template, to_user_id, to_email, content_sealed,
                          is_high_priority, scheduled_at, next_attempt_at, subject, wakeup_due_at,
                          notification_category_id)
VALUES (%(id)s, %(tenancy_id)s, %(template)s, %(to_user_id)s, %(to_email)s, %(content_sealed)s,
        %(is_high_priority)s, coalesce(%(scheduled_at)s, now()), coalesce(%(scheduled_at)s, now()),
        %(subject)s, CASE WHEN %(wakeup)s THEN coalesce(%(scheduled_at)s, now()) END,
        %(notification_category_id)s)
"""


async def insert_outbox_rows(conn: AsyncConnection[Any], rows: list[dict[str, Any]]) -> None:
    """Insert pending rows (each with INSERT_OUTBOX's parameters; ``wakeup`` says a wake-up
    message will be sent for the row after commit), many in one pipelined batch."""
    if len(rows) <= 1:
        for row in rows:
            await conn.execute(INSERT_OUTBOX, row)
        return
    async with conn.cursor() as cur:
        await cur.executemany(INSERT_OUTBOX, rows)


CLEAR_WAKEUP = "UPDATE email_outbox SET wakeup_due_at = NULL WHERE id = ANY(%(ids)s)"


async def clear_wakeup(conn: AsyncConnection[Any], ids: list[uuid.UUID]) -> None:
    """Record that no wake-up is in flight for these rows (Redis did not take it)."""
    await conn.execute(CLEAR_WAKEUP, {"ids": ids})


# Claim one row and, in the same round trip, read what rendering and addressing it needs.
CLAIM = """
WITH c AS (
    UPDATE email_outbox
    SET status = 'sending', attempt_count = attempt_count + 1, updated_at = now(),
        lease_expires_at = now() + make_interval(secs => %(lease_seconds)s),
        capacity_slot_at = NULL
    WHERE id = %(id)s
      AND ((status IN ('pending', 'retry_scheduled') AND next_attempt_at <= now())
           OR (status = 'sending' AND lease_expires_at < now()))
    RETURNING id, tenancy_id, template, to_user_id, to_email, content_sealed, subject,
              attempt_count, notification_category_id
)
SELECT c.id, c.tenancy_id, c.template, c.to_user_id, c.to_email, c.content_sealed, c.subject,
       c.attempt_count, p.id AS project_id, p.display_name AS project_display_name,
       p.config_override, tn.branch_config_override, tn.environment_config_override,
       (u.id IS NOT NULL) AS user_exists, u.display_name AS user_display_name,
       cc.value AS user_primary_email, t.subject AS override_subject, t.html AS override_html,
       t.text AS override_text, (t.id IS NOT NULL) AS override_exists,
       c.notification_category_id, np.enabled AS notification_enabled
FROM c
JOIN tenancies tn ON tn.id = c.tenancy_id
JOIN projects p ON p.id = tn.project_id
LEFT JOIN users u ON u.tenancy_id = c.tenancy_id AND u.id = c.to_user_id
LEFT JOIN contact_channels cc ON cc.tenancy_id = u.tenancy_id AND cc.user_id = u.id
      AND cc.type = 'email' AND cc.is_primary
LEFT JOIN email_templates t ON t.tenancy_id = c.tenancy_id AND t.id = c.template
LEFT JOIN notification_preferences np ON np.tenancy_id = c.tenancy_id
      AND np.user_id = c.to_user_id AND np.notification_category_id = c.notification_category_id
"""


SET_ASYNC_COMMIT = "SET LOCAL synchronous_commit TO OFF"


async def claim(
    conn: AsyncConnection[Any], outbox_id: uuid.UUID, lease_seconds: float
) -> ClaimedRow | None:
    """Move a due row to 'sending' under a lease; None if it is not due or someone holds it.

    The claim's commit need not wait for the disk: the outcome recorded later commits
    synchronously, which makes the claim durable too; a claim lost in a crash only leaves the
    row pending, as if never claimed.
    """
    await conn.execute(SET_ASYNC_COMMIT)
    return await fetch_one(conn, ClaimedRow, CLAIM, id=outbox_id, lease_seconds=lease_seconds)


_HELD = "WHERE id = %(id)s AND status = 'sending' AND attempt_count = %(attempt)s"

MARK_SENT = (
    """
UPDATE email_outbox
SET status = 'sent', lease_expires_at = NULL, sent_at = now(), finished_at = now(),
    updated_at = now(), recipient = %(recipient)s, subject = %(subject)s,
    smtp_response = %(smtp_response)s, error = NULL, content_sealed = NULL, wakeup_due_at = NULL
"""
    + _HELD
)
MARK_RETRY = (
    """
UPDATE email_outbox
SET status = 'retry_scheduled', lease_expires_at = NULL, updated_at = now(),
    next_attempt_at = now() + make_interval(secs => %(delay_seconds)s),
    wakeup_due_at = now() + make_interval(secs => %(delay_seconds)s),
    recipient = %(recipient)s, subject = coalesce(%(subject)s, subject), error = %(error)s
"""
    + _HELD
    + " RETURNING next_attempt_at"
)
MARK_FAILED = (
    """
UPDATE email_outbox
SET status = 'failed', lease_expires_at = NULL, finished_at = now(), updated_at = now(),
    recipient = coalesce(%(recipient)s, recipient), subject = coalesce(%(subject)s, subject),
    error = %(error)s, content_sealed = NULL, wakeup_due_at = NULL
"""
    + _HELD
)
MARK_SKIPPED = (
    """
UPDATE email_outbox
SET status = 'skipped', lease_expires_at = NULL, finished_at = now(), updated_at = now(),
    skipped_reason = %(reason)s, content_sealed = NULL, wakeup_due_at = NULL
"""
    + _HELD
)


async def mark_sent(
    conn: AsyncConnection[Any],
    outbox_id: uuid.UUID,
    attempt: int,
    *,
    recipient: str,
    subject: str,
    smtp_response: str,
) -> bool:
    cur = await conn.execute(
        MARK_SENT,
        {
            "id": outbox_id,
            "attempt": attempt,
            "recipient": recipient,
            "subject": subject,
            "smtp_response": smtp_response,
        },
    )
    return cur.rowcount == 1


async def mark_retry(
    conn: AsyncConnection[Any],
    outbox_id: uuid.UUID,
    attempt: int,
    *,
    delay_seconds: float,
    recipient: str | None,
    subject: str | None,
    error: str,
) -> datetime | None:
    """Schedule the next attempt; returns when it is due, or None if the claim was lost."""
    return await fetch_value(
        conn,
        datetime,
        MARK_RETRY,
        id=outbox_id,
        attempt=attempt,
        delay_seconds=delay_seconds,
        recipient=recipient,
        subject=subject,
        error=error,
    )


async def mark_failed(
    conn: AsyncConnection[Any],
    outbox_id: uuid.UUID,
    attempt: int,
    *,
    error: str,
    recipient: str | None = None,
    subject: str | None = None,
) -> bool:
    cur = await conn.execute(
        MARK_FAILED,
        {
            "id": outbox_id,
            "attempt": attempt,
            "error": error,
            "recipient": recipient,
            "subject": subject,
        },
    )
    return cur.rowcount == 1


async def mark_skipped(
    conn: AsyncConnection[Any], outbox_id: uuid.UUID, attempt: int, *, reason: str
) -> bool:
    cur = await conn.execute(MARK_SKIPPED, {"id": outbox_id, "attempt": attempt, "reason": reason})
    return cur.rowcount == 1


# --- the cron step ----------------------------------------------------------------------------

# A lease that ran out means the worker died (or hung) mid-delivery. Give the row back for another
# attempt, or fail it if that was its last one (a message that kills workers must not loop).
RELEASE_EXPIRED_LEASES = """
UPDATE email_outbox
SET status = CASE WHEN attempt_count >= %(max_attempts)s THEN 'failed' ELSE 'pending' END,
    lease_expires_at = NULL, updated_at = now(), next_attempt_at = now(), wakeup_due_at = NULL,
    error = 'the worker stopped during delivery (lease expired)',
    finished_at = CASE WHEN attempt_count >= %(max_attempts)s THEN now() END,
    content_sealed = CASE WHEN attempt_count >= %(max_attempts)s THEN NULL ELSE content_sealed END
WHERE id IN (
    SELECT id FROM email_outbox
    WHERE status = 'sending' AND lease_expires_at < now()
    ORDER BY lease_expires_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING id, status
"""


async def release_expired_leases(
    conn: AsyncConnection[Any], *, max_attempts: int, limit: int
) -> list[tuple[uuid.UUID, str]]:
    cur = await conn.execute(RELEASE_EXPIRED_LEASES, {"max_attempts": max_attempts, "limit": limit})
    return [(row[0], row[1]) for row in await cur.fetchall()]


# Due rows with no wake-up in flight, or whose wake-up is overdue (lost with Redis, or stuck).
TAKE_LOST_WAKEUPS = """
UPDATE email_outbox SET wakeup_due_at = now()
WHERE id IN (
    SELECT id FROM email_outbox
    WHERE status IN ('pending', 'retry_scheduled') AND next_attempt_at <= now()
      AND (wakeup_due_at IS NULL
           OR wakeup_due_at < now() - make_interval(secs => %(requeue_after)s))
    ORDER BY next_attempt_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING id
"""


async def take_lost_wakeups(
    conn: AsyncConnection[Any], *, requeue_after: float, limit: int
) -> list[uuid.UUID]:
    """Mark up to ``limit`` rows as re-enqueued now and return them."""
    cur = await conn.execute(TAKE_LOST_WAKEUPS, {"requeue_after": requeue_after, "limit": limit})
    return [row[0] for row in await cur.fetchall()]
