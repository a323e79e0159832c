"""``/internal/metrics``: its rows and its shape (upstream's MetricsResponseBodySchema).

Everything upstream reads from PostgreSQL is counted from ours. What upstream reads from its
ClickHouse events (page views, clicks, visitors, referrers, regions) or from tables this project
does not have (payments, session replays) keeps its shape with no data: empty lists, zeros.
Activity, which upstream counts from token refreshes, is read from sessions (see
db.queries.metrics).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from authstack_core.models.emails import SIMPLE_STATUS_OF, SIMPLE_STATUSES, OutboxRow
from authstack_core.models.shapes import millis
from authstack_core.models.users import UserRow

WINDOW_DAYS = 30  # upstream's window: today (UTC) and the 30 days before it
SPLITS = ("new", "retained", "reactivated")


@dataclass(frozen=True, slots=True)
class UserCounts:
    total_users: int
    anonymous_users: int
    verified_users: int  # not anonymous, with a verified email
    total_teams: int
    live_users: int  # with a session refreshed in the last five minutes


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    key: str  # what is counted that day (a status, ...)
    count: int


@dataclass(frozen=True, slots=True)
class HourCount:
    hour: datetime  # the start of the hour, UTC
    count: int


@dataclass(frozen=True, slots=True)
class SplitCount:
    entity: str  # "user" or "team"
    day: date | None  # None: the whole window
    split: str | None  # one of SPLITS; None with the whole window
    count: int


@dataclass(frozen=True, slots=True)
class Tally:
    key: str
    count: int


def window(today: date) -> list[date]:
    return [today - timedelta(days=WINDOW_DAYS - i) for i in range(WINDOW_DAYS + 1)]


def _series(days: list[date], value: Callable[[date], int | None]) -> list[dict[str, Any]]:
    """One point per day: the day as YYYY-MM-DD and its ``value`` (None counts as 0)."""
    return [{"date": day.isoformat(), "activity": value(day) or 0} for day in days]


def _by_day(rows: Iterable[DayCount], keys: Iterable[str] | None = None) -> dict[date, int]:
    wanted = None if keys is None else set(keys)
    totals: dict[date, int] = {}
    for row in rows:
        if wanted is None or row.key in wanted:
            totals[row.day] = totals.get(row.day, 0) + row.count
    return totals


@dataclass(frozen=True, slots=True)
class Metrics:
    """What one metrics request counted, for the days of ``window(today)``."""

    today: date
    counts: UserCounts
    include_anonymous: bool
    daily_sign_ups: list[DayCount]
    splits: list[SplitCount]
    login_methods: list[Tally]
    users_by_country: list[Tally]
    recently_registered: list[UserRow]
    recently_active: list[UserRow]
    email_statuses: list[Tally]
    daily_emails: list[DayCount]
    recent_emails: list[OutboxRow]
    # From ClickHouse's $token-refresh events when the store answered (else None: activity is
    # then counted from sessions, and the hourly series is empty).
    active_from_events: list[DayCount] | None = None
    hourly_refreshes: list[HourCount] | None = None

    def json(self, user_json: Callable[[UserRow], dict[str, Any]]) -> dict[str, Any]:
        days = window(self.today)
        users = self._split(days, "user")
        counts = self.counts
        total = counts.total_users - (0 if self.include_anonymous else counts.anonymous_users)
        sign_ups = _by_day(self.daily_sign_ups)
        return {
            "total_users": total,
            "live_users": counts.live_users,
            "daily_users": _series(days, sign_ups.get),
            "daily_active_users": (
                users["total"]
                if self.active_from_events is None
                else _series(days, _by_day(self.active_from_events).get)
            ),
            "users_by_country": {t.key: t.count for t in self.users_by_country},
            "active_users_by_country": {},
            "recently_registered": [user_json(u) for u in self.recently_registered],
            "recently_active": [user_json(u) for u in self.recently_active],
            "login_methods": [{"method": t.key, "count": t.count} for t in self.login_methods],
            "auth_overview": {
                "verified_users": counts.verified_users,
                "unverified_users": (
                    counts.total_users - counts.anonymous_users - counts.verified_users
                ),
                "anonymous_users": counts.anonymous_users,
                "total_teams": counts.total_teams,
                "mau": self._window_total("user"),
                "daily_active_users_split": users,
                "daily_active_teams_split": self._split(days, "team"),
                "total_users_filtered": total,
            },
            "payments_overview": _payments_overview(days),
            "email_overview": self._email_overview(days),
            "analytics_overview": {
                **_analytics_overview(days, counts.live_users),
                "hourly_token_refreshes": _hourly(
                    self.hourly_refreshes or [],
                    datetime.now(UTC).replace(minute=0, second=0, microsecond=0),
                ),
            },
        }

    def _split(self, days: list[date], entity: str) -> dict[str, list[dict[str, Any]]]:
        per_split = {
            split: {
                row.day: row.count
                for row in self.splits
                if row.entity == entity and row.split == split and row.day is not None
            }
            for split in SPLITS
        }
        out = {split: _series(days, per_split[split].get) for split in SPLITS}
        total = _series(days, lambda d: sum(p.get(d, 0) for p in per_split.values()))
        return {"total": total, **out}

    def _window_total(self, entity: str) -> int:
        return next((r.count for r in self.splits if r.entity == entity and r.day is None), 0)

    def _email_overview(self, days: list[date]) -> dict[str, Any]:
        by_simple: dict[str, int] = {}
        for tally in self.email_statuses:
            simple = SIMPLE_STATUS_OF[tally.key]
            by_simple[simple] = by_simple.get(simple, 0) + tally.count
        stored = {t.key: t.count for t in self.email_statuses}
        finished = stored.get("sent", 0) + stored.get("failed", 0)
        delivered = stored.get("sent", 0)
        per_day = {
            simple: _by_day(self.daily_emails, statuses.stored)
            for simple, statuses in SIMPLE_STATUSES.items()
        }
        return {
            "emails_by_status": {k: v for k, v in by_simple.items() if v},
            "total_emails": sum(by_simple.values()),
            "daily_emails": _series(days, lambda d: sum(p.get(d, 0) for p in per_day.values())),
            "daily_emails_by_status": [
                {
                    "date": day.isoformat(),
                    "ok": per_day["ok"].get(day, 0),
                    "error": per_day["error"].get(day, 0),
                    "in_progress": per_day["in-progress"].get(day, 0),
                }
                for day in days
            ],
            "emails_sent": finished,
            "recent_emails": [
                {
                    "id": str(email.id),
                    # upstream sends its status enum as stored: SENT, SERVER_ERROR, ...
                    "status": email.wire_status.upper().replace("-", "_"),
                    "subject": email.subject or "(no subject)",
                    "created_at_millis": millis(email.created_at),
                }
                for email in self.recent_emails
            ],
            "deliverability_status": {
                "delivered": delivered,
                "bounced": 0,  # SMTP acceptance is all this outbox learns
                "error": by_simple.get("error", 0),
                "in_progress": by_simple.get("in-progress", 0),
            },
            "deliverability_rate": round(min(delivered / (finished or 1), 1) * 100, 2),
            "bounce_rate": 0,
            "click_rate": 0,
        }


def _payments_overview(days: list[date]) -> dict[str, Any]:
    """No payments here: upstream's shape, empty."""
    return {
        "subscriptions_by_status": {},
        "active_subscription_count": 0,
        "total_one_time_purchases": 0,
        "daily_subscriptions": _series(days, lambda d: 0),
        "revenue_cents": 0,
        "mrr_cents": 0,
        "total_orders": 0,
        "checkout_conversion_rate": 0,
    }


HOURS = 48  # the token-refresh series: this many hours up to the current one


def _hourly(rows: list[HourCount], current: datetime) -> list[dict[str, Any]]:
    """One point per hour, oldest first, the hour as an ISO-8601 UTC time."""
    counts = {row.hour.replace(tzinfo=UTC): row.count for row in rows}
    hours = [current - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]
    return [
        {"hour": hour.strftime("%Y-%m-%dT%H:00:00Z"), "count": counts.get(hour, 0)}
        for hour in hours
    ]


def _analytics_overview(days: list[date], online: int) -> dict[str, Any]:
    """Upstream's web analytics come from ClickHouse events and session replays, neither of which
    exists here yet: the shape upstream sends when ClickHouse cannot answer, with the daily
    revenue (no payments here) zero for every day. ``online_live`` is counted from sessions."""
    return {
        "daily_page_views": [],
        "daily_clicks": [],
        "daily_visitors": [],
        "daily_anonymous_visitors_fallback": [],
        "daily_revenue": [
            {"date": day.isoformat(), "new_cents": 0, "refund_cents": 0} for day in days
        ],
        "total_revenue_cents": 0,
        "total_replays": 0,
        "recent_replays": 0,
        "visitors": 0,
        "anonymous_visitors_fallback": 0,
        "avg_session_seconds": 0,
        "online_live": online,
        "revenue_per_visitor": 0,
        "top_referrers": [],
        "top_region": None,
    }
