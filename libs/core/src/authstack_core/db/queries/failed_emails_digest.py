"""SQL of the failed-emails digest: which tenancies have failures to report, and, under the
tenancy's state row lock, its failures since the last digest, its admins, and the new watermark.

A tenancy gets at most one digest per UTC day (``digest_sent_at``), covering the failures that
finished after the previous digest's watermark (``digest_through``; the first one looks back a
day, as upstream's does) and never more than a week back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import fetch_all, fetch_one, fetch_value

_SINCE = "coalesce(s.digest_through, now() - interval '1 day')"
_NOT_TODAY = "(s.digest_sent_at IS NULL OR s.digest_sent_at < date_trunc('day', now(), 'UTC'))"
_RECENT = "o.finished_at > now() - interval '7 days'"

SELECT_CANDIDATES = f"""
SELECT DISTINCT o.tenancy_id
FROM email_outbox o
LEFT JOIN email_sending_state s ON s.tenancy_id = o.tenancy_id
WHERE o.status = 'failed' AND {_RECENT} AND o.finished_at > {_SINCE} AND {_NOT_TODAY}
LIMIT %(limit)s
"""


async def select_candidates(conn: AsyncConnection[Any], *, limit: int) -> list[uuid.UUID]:
    cur = await conn.execute(SELECT_CANDIDATES, {"limit": limit})
    return [row[0] for row in await cur.fetchall()]


ENSURE_STATE = """
INSERT INTO email_sending_state (tenancy_id, tokens) VALUES (%(tenancy_id)s, %(tokens)s)
ON CONFLICT (tenancy_id) DO NOTHING
"""


@dataclass(slots=True)
class DigestScope:
    project_id: str
    project_display_name: str
    owner_team_id: uuid.UUID | None
    since: datetime
    due: bool  # no digest went out today


LOCK_SCOPE = f"""
SELECT t.project_id, p.display_name AS project_display_name, p.owner_team_id,
       {_SINCE} AS since, {_NOT_TODAY} AS due
FROM email_sending_state s
JOIN tenancies t ON t.id = s.tenancy_id
JOIN projects p ON p.id = t.project_id
WHERE s.tenancy_id = %(tenancy_id)s
FOR UPDATE OF s
"""


async def lock_scope(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, *, initial_tokens: float
) -> DigestScope:
    """The tenancy's digest state, locked until the transaction ends."""
    await conn.execute(ENSURE_STATE, {"tenancy_id": tenancy_id, "tokens": initial_tokens})
    scope = await fetch_one(conn, DigestScope, LOCK_SCOPE, tenancy_id=tenancy_id)
    assert scope is not None, "ENSURE_STATE made the row"
    return scope


@dataclass(slots=True)
class FailedEmail:
    subject: str | None
    recipient: str | None
    to_email: str | None
    to_user_id: uuid.UUID | None
    error: str | None
    finished_at: datetime


_FAILURES = f"""
FROM email_outbox o
WHERE o.tenancy_id = %(tenancy_id)s AND o.status = 'failed' AND {_RECENT}
  AND o.finished_at > %(since)s AND o.finished_at <= now()
"""
SELECT_FAILURES = (
    "SELECT o.subject, o.recipient, o.to_email, o.to_user_id, o.error, o.finished_at"
    + _FAILURES
    + "ORDER BY o.finished_at DESC, o.id LIMIT %(limit)s"
)
COUNT_FAILURES = "SELECT count(*)::int, max(o.finished_at)" + _FAILURES


async def select_failures(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, since: datetime, *, limit: int
) -> tuple[int, datetime | None, list[FailedEmail]]:
    """(how many failed since ``since``, the last one's time, the ``limit`` most recent)."""
    cur = await conn.execute(COUNT_FAILURES, {"tenancy_id": tenancy_id, "since": since})
    counted = await cur.fetchone()
    assert counted is not None, "an aggregate always returns a row"
    recent = await fetch_all(
        conn, FailedEmail, SELECT_FAILURES, tenancy_id=tenancy_id, since=since, limit=limit
    )
    return counted[0], counted[1], recent


# A project's admins: the internal project's users in its owner team, at their primary address.
SELECT_ADMIN_EMAILS = """
SELECT DISTINCT cc.value
FROM tenancies it
JOIN team_members m ON m.tenancy_id = it.id AND m.team_id = %(team_id)s
JOIN contact_channels cc ON cc.tenancy_id = it.id AND cc.user_id = m.user_id
     AND cc.type = 'email' AND cc.is_primary
WHERE it.project_id = 'internal' AND it.branch_id = 'main'
ORDER BY cc.value
"""


async def select_admin_emails(conn: AsyncConnection[Any], team_id: uuid.UUID) -> list[str]:
    cur = await conn.execute(SELECT_ADMIN_EMAILS, {"team_id": team_id})
    return [row[0] for row in await cur.fetchall()]


MARK_SENT = """
UPDATE email_sending_state SET digest_sent_at = now(), digest_through = %(through)s
WHERE tenancy_id = %(tenancy_id)s
"""


async def mark_sent(conn: AsyncConnection[Any], tenancy_id: uuid.UUID, through: datetime) -> None:
    await conn.execute(MARK_SENT, {"tenancy_id": tenancy_id, "through": through})


SELECT_INTERNAL_TENANCY = (
    "SELECT id FROM tenancies WHERE project_id = 'internal' AND branch_id = 'main'"
)


async def select_internal_tenancy(conn: AsyncConnection[Any]) -> uuid.UUID | None:
    return await fetch_value(conn, uuid.UUID, SELECT_INTERNAL_TENANCY)
