"""What ``/internal/metrics`` counts: users, teams, activity, sign-in methods and emails."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from authstack_core.db.queries.run import fetch_all, fetch_one
from authstack_core.db.queries.users import USER_SELECT
from authstack_core.models.metrics import DayCount, SplitCount, Tally, UserCounts
from authstack_core.models.users import UserRow

SELECT_USER_COUNTS = """
SELECT count(*)::int AS total_users,
       count(*) FILTER (WHERE u.is_anonymous)::int AS anonymous_users,
       count(*) FILTER (WHERE NOT u.is_anonymous AND EXISTS (
           SELECT 1 FROM contact_channels c
           WHERE c.tenancy_id = u.tenancy_id AND c.user_id = u.id AND c.is_verified
       ))::int AS verified_users,
       (SELECT count(*)::int FROM teams t WHERE t.tenancy_id = %(tenancy_id)s) AS total_teams,
       count(*) FILTER (WHERE (%(include_anonymous)s OR NOT u.is_anonymous) AND EXISTS (
           SELECT 1 FROM refresh_tokens r
           WHERE r.tenancy_id = u.tenancy_id AND r.user_id = u.id
             AND r.last_active_at > now() - interval '5 minutes'
       ))::int AS live_users
FROM users u
WHERE u.tenancy_id = %(tenancy_id)s
"""


async def select_user_counts(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, *, include_anonymous: bool
) -> UserCounts:
    row = await fetch_one(
        conn,
        UserCounts,
        SELECT_USER_COUNTS,
        tenancy_id=tenancy_id,
        include_anonymous=include_anonymous,
    )
    assert row is not None  # an aggregate always answers
    return row


SELECT_DAILY_SIGN_UPS = """
SELECT (u.signed_up_at AT TIME ZONE 'UTC')::date AS day, '' AS key, count(*)::int AS count
FROM users u
WHERE u.tenancy_id = %(tenancy_id)s AND u.signed_up_at >= %(since)s
  AND (%(include_anonymous)s OR NOT u.is_anonymous)
GROUP BY 1
"""


async def select_daily_sign_ups(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, *, since: datetime, include_anonymous: bool
) -> list[DayCount]:
    return await fetch_all(
        conn,
        DayCount,
        SELECT_DAILY_SIGN_UPS,
        tenancy_id=tenancy_id,
        since=since,
        include_anonymous=include_anonymous,
    )


# A user was active on a day when one of their sessions was created or refreshed that day, or
# their last activity fell on it (upstream counts token refreshes; sessions keep only their first
# and last use, so days in between are not seen). A team was active when an active user had it
# selected (upstream's token carries the selected team; the current selection stands in). Each
# active day of an entity is classified as upstream's buildSplitFromDailyEntitySets does: created
# that day -> new; active the day before -> retained; active earlier in the window ->
# reactivated; otherwise new if created within the window, else reactivated.
SELECT_ACTIVITY_SPLITS = """
WITH activity AS (
    SELECT DISTINCT day, user_id FROM (
        SELECT (r.created_at AT TIME ZONE 'UTC')::date AS day, r.user_id
        FROM refresh_tokens r WHERE r.tenancy_id = %(tenancy_id)s AND r.created_at >= %(since)s
        UNION ALL
        SELECT (r.last_active_at AT TIME ZONE 'UTC')::date, r.user_id
        FROM refresh_tokens r
        WHERE r.tenancy_id = %(tenancy_id)s AND r.last_active_at >= %(since)s
        UNION ALL
        SELECT (u.last_active_at AT TIME ZONE 'UTC')::date, u.id
        FROM users u WHERE u.tenancy_id = %(tenancy_id)s AND u.last_active_at >= %(since)s
    ) seen
),
entities AS (
    SELECT 'user' AS entity, a.day, a.user_id AS id,
           (u.signed_up_at AT TIME ZONE 'UTC')::date AS created_day
    FROM activity a JOIN users u ON u.tenancy_id = %(tenancy_id)s AND u.id = a.user_id
    WHERE %(include_anonymous)s OR NOT u.is_anonymous
    UNION
    SELECT 'team', a.day, t.id, (t.created_at AT TIME ZONE 'UTC')::date
    FROM activity a
    JOIN team_members m
      ON m.tenancy_id = %(tenancy_id)s AND m.user_id = a.user_id AND m.is_selected
    JOIN teams t ON t.tenancy_id = m.tenancy_id AND t.id = m.team_id
),
classified AS (
    SELECT entity, day, id, CASE
        WHEN created_day = day THEN 'new'
        WHEN lag(day) OVER w = day - 1 THEN 'retained'
        WHEN lag(day) OVER w IS NOT NULL THEN 'reactivated'
        WHEN created_day >= %(since)s::date THEN 'new'
        ELSE 'reactivated'
    END AS split
    FROM entities
    WINDOW w AS (PARTITION BY entity, id ORDER BY day)
)
SELECT entity, day, split, count(DISTINCT id)::int AS count
FROM classified
GROUP BY GROUPING SETS ((entity, day, split), (entity))
"""


async def select_activity_splits(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, *, since: datetime, include_anonymous: bool
) -> list[SplitCount]:
    """Active users and teams per day and kind, and per entity over the window (``since`` on)."""
    return await fetch_all(
        conn,
        SplitCount,
        SELECT_ACTIVITY_SPLITS,
        tenancy_id=tenancy_id,
        since=since,
        include_anonymous=include_anonymous,
    )


# Upstream counts auth methods by kind; here a user's password, OTP and passkey sign-in.
SELECT_LOGIN_METHODS = """
SELECT 'password' AS key, count(*)::int AS count
FROM password_auth_methods WHERE tenancy_id = %(tenancy_id)s
UNION ALL
SELECT 'otp', count(*) FILTER (WHERE otp_auth_enabled)::int
FROM users WHERE tenancy_id = %(tenancy_id)s
UNION ALL
SELECT 'passkey', count(*) FILTER (WHERE passkey_auth_enabled)::int
FROM users WHERE tenancy_id = %(tenancy_id)s
"""
SELECT_USERS_BY_COUNTRY = """
SELECT country_code AS key, count(*)::int AS count
FROM users
WHERE tenancy_id = %(tenancy_id)s AND country_code IS NOT NULL
  AND (%(include_anonymous)s OR NOT is_anonymous)
GROUP BY country_code
ORDER BY count DESC, country_code
"""


async def select_login_methods(conn: AsyncConnection[Any], tenancy_id: uuid.UUID) -> list[Tally]:
    rows = await fetch_all(conn, Tally, SELECT_LOGIN_METHODS, tenancy_id=tenancy_id)
    return [row for row in rows if row.count]


async def select_users_by_country(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, *, include_anonymous: bool
) -> list[Tally]:
    return await fetch_all(
        conn,
        Tally,
        SELECT_USERS_BY_COUNTRY,
        tenancy_id=tenancy_id,
        include_anonymous=include_anonymous,
    )


SELECT_RECENTLY_ACTIVE = (
    USER_SELECT
    + """WHERE u.tenancy_id = %(tenancy_id)s AND (%(include_anonymous)s OR NOT u.is_anonymous)
ORDER BY u.last_active_at DESC, u.id
LIMIT %(limit)s"""
)


async def select_recently_active(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, *, limit: int, include_anonymous: bool
) -> list[UserRow]:
    return await fetch_all(
        conn,
        UserRow,
        SELECT_RECENTLY_ACTIVE,
        tenancy_id=tenancy_id,
        limit=limit,
        include_anonymous=include_anonymous,
    )


SELECT_DAILY_EMAILS = """
SELECT (created_at AT TIME ZONE 'UTC')::date AS day, status AS key, count(*)::int AS count
FROM email_outbox
WHERE tenancy_id = %(tenancy_id)s AND created_at >= %(since)s
GROUP BY 1, 2
"""
SELECT_EMAIL_STATUSES = """
SELECT status AS key, count(*)::int AS count FROM email_outbox
WHERE tenancy_id = %(tenancy_id)s GROUP BY status
"""


async def select_daily_emails(
    conn: AsyncConnection[Any], tenancy_id: uuid.UUID, *, since: datetime
) -> list[DayCount]:
    """Emails queued per day and stored status, ``since`` on."""
    return await fetch_all(conn, DayCount, SELECT_DAILY_EMAILS, tenancy_id=tenancy_id, since=since)


async def select_email_statuses(conn: AsyncConnection[Any], tenancy_id: uuid.UUID) -> list[Tally]:
    return await fetch_all(conn, Tally, SELECT_EMAIL_STATUSES, tenancy_id=tenancy_id)
