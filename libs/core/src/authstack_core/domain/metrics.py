"""The project overview of ``/internal/metrics``, counted from this database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import structlog

from authstack_core.db.queries import emails as email_q
from authstack_core.db.queries import metrics as q
from authstack_core.db.queries import users as user_q
from authstack_core.domain.context import Deps
from authstack_core.models.metrics import (
    HOURS,
    WINDOW_DAYS,
    DayCount,
    HourCount,
    Metrics,
    UserCounts,
)
from authstack_core.models.projects import TenantProject

log = structlog.get_logger(__name__)

RECENT_USERS = 100  # upstream lists this many latest sign-ups
RECENTLY_ACTIVE = 5
RECENT_EMAILS = 100


async def metrics(deps: Deps, project: TenantProject, *, include_anonymous: bool) -> Metrics:
    """Counts of the last ``WINDOW_DAYS`` days and today (UTC); anonymous users only with
    ``include_anonymous``, as upstream. See models.metrics for what is counted and what is not."""
    today = datetime.now(UTC).date()
    since = datetime.combine(today - timedelta(days=WINDOW_DAYS), time(), UTC)
    tenancy_id = project.tenancy_id
    from_events = await _from_events(deps, project, since, include_anonymous=include_anonymous)
    async with deps.pool.connection() as conn:
        counts = await q.select_user_counts(conn, tenancy_id, include_anonymous=include_anonymous)
        recently_registered = await user_q.select_users(
            conn,
            tenancy_id,
            limit=RECENT_USERS,
            desc=True,
            cursor=None,
            team_id=None,
            query=None,
            include_anonymous=include_anonymous,
            only_anonymous=False,
            include_restricted=True,
            require_verification=project.config.require_email_verification,
        )
        return Metrics(
            today=today,
            counts=counts,
            include_anonymous=include_anonymous,
            daily_sign_ups=await q.select_daily_sign_ups(
                conn, tenancy_id, since=since, include_anonymous=include_anonymous
            ),
            splits=await q.select_activity_splits(
                conn, tenancy_id, since=since, include_anonymous=include_anonymous
            ),
            login_methods=await q.select_login_methods(conn, tenancy_id),
            users_by_country=await q.select_users_by_country(
                conn, tenancy_id, include_anonymous=include_anonymous
            ),
            recently_registered=recently_registered,
            recently_active=await q.select_recently_active(
                conn, tenancy_id, limit=RECENTLY_ACTIVE, include_anonymous=include_anonymous
            ),
            email_statuses=await q.select_email_statuses(conn, tenancy_id),
            daily_emails=await q.select_daily_emails(conn, tenancy_id, since=since),
            recent_emails=await email_q.select_outbox_page(
                conn, tenancy_id, limit=RECENT_EMAILS, status=None, cursor=None
            ),
            active_from_events=from_events[0] if from_events else None,
            hourly_refreshes=from_events[1] if from_events else None,
        )


ACTIVE_USERS_SQL = """
SELECT toDate(event_at) AS day, uniqExact(user_id) AS users
FROM analytics_internal.events
WHERE project_id = {p:String} AND branch_id = {b:String} AND event_type = '$token-refresh'
  AND event_at >= {since:DateTime64(3, 'UTC')} AND user_id IS NOT NULL
  AND ({anonymous:Bool} OR NOT ifNull(data.is_anonymous::Nullable(Bool), false))
GROUP BY day
"""
HOURLY_REFRESHES_SQL = """
SELECT toStartOfHour(event_at) AS hour, count() AS refreshes
FROM analytics_internal.events
WHERE project_id = {p:String} AND branch_id = {b:String} AND event_type = '$token-refresh'
  AND event_at >= {since:DateTime64(3, 'UTC')}
GROUP BY hour
"""


async def _from_events(
    deps: Deps, project: TenantProject, since: datetime, *, include_anonymous: bool
) -> tuple[list[DayCount], list[HourCount]] | None:
    """Daily active users and hourly token refreshes from ClickHouse; None when it cannot
    answer (the overview then counts activity from sessions, as without analytics)."""
    if not deps.analytics.enabled:
        return None
    where = {"p": project.id, "b": "main"}
    hours_since = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=HOURS - 1
    )
    try:
        daily = await deps.analytics.rows(
            ACTIVE_USERS_SQL, {**where, "since": since, "anonymous": include_anonymous}
        )
        hourly = await deps.analytics.rows(HOURLY_REFRESHES_SQL, {**where, "since": hours_since})
    except Exception as exc:  # the store down or unmigrated: fall back, say why
        log.warning("metrics: analytics store unavailable", reason=str(exc).splitlines()[0][:200])
        return None
    return (
        [DayCount(day, "active", count) for day, count in daily],
        [HourCount(hour, count) for hour, count in hourly],
    )


async def user_counts(deps: Deps, project: TenantProject) -> UserCounts:
    async with deps.pool.connection() as conn:
        return await q.select_user_counts(conn, project.tenancy_id, include_anonymous=True)
