"""/internal/metrics in upstream's shape (MetricsResponseBodySchema), counted from this database."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.helpers import sign_up, unique_email
from tests.api.team_helpers import create_team, new_user
from tests.conftest import Project
from tests.mail import custom_server_config

METRICS = "/api/v1/internal/metrics"
TOP_KEYS = {
    "total_users", "live_users", "daily_users", "daily_active_users", "users_by_country",
    "active_users_by_country", "recently_registered", "recently_active", "login_methods",
    "auth_overview", "payments_overview", "email_overview", "analytics_overview",
}  # fmt: skip
AUTH_KEYS = {
    "verified_users", "unverified_users", "anonymous_users", "total_teams", "mau",
    "daily_active_users_split", "daily_active_teams_split", "total_users_filtered",
}  # fmt: skip
EMAIL_KEYS = {
    "emails_by_status", "total_emails", "daily_emails", "daily_emails_by_status", "emails_sent",
    "recent_emails", "deliverability_status", "deliverability_rate", "bounce_rate", "click_rate",
}  # fmt: skip
PAYMENTS_KEYS = {
    "subscriptions_by_status", "active_subscription_count", "total_one_time_purchases",
    "daily_subscriptions", "revenue_cents", "mrr_cents", "total_orders",
    "checkout_conversion_rate",
}  # fmt: skip
ANALYTICS_KEYS = {
    "daily_page_views", "daily_clicks", "daily_visitors", "daily_anonymous_visitors_fallback",
    "daily_revenue", "total_revenue_cents", "total_replays", "recent_replays", "visitors",
    "anonymous_visitors_fallback", "avg_session_seconds", "online_live", "revenue_per_visitor",
    "top_referrers", "top_region",
    "hourly_token_refreshes",  # ours: the Overview's chart, from ClickHouse
}  # fmt: skip


def metrics_once(
    http: httpx.Client, project: Project, ready: Callable[[dict[str, Any]], bool], **query: str
) -> dict[str, Any]:
    """The metrics once ``ready`` holds (events reach ClickHouse within a second or so)."""
    deadline = time.monotonic() + 15
    while True:
        body = metrics(http, project, **query)
        if ready(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.3)


def metrics(http: httpx.Client, project: Project, **query: str) -> dict[str, Any]:
    r = http.get(METRICS, headers=project.headers("admin"), params=query)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def today_of(series: list[dict[str, Any]]) -> int:
    """The last point of a 31-day series, checked to be today's."""
    assert series[-1]["date"] == datetime.now(UTC).date().isoformat()
    activity: int = series[-1]["activity"]
    return activity


def test_an_empty_project_has_every_field_with_31_days_of_zeros(
    http: httpx.Client, project: Project
) -> None:
    body = metrics(http, project)
    assert set(body) == TOP_KEYS
    assert set(body["auth_overview"]) == AUTH_KEYS
    assert set(body["email_overview"]) == EMAIL_KEYS
    assert set(body["payments_overview"]) == PAYMENTS_KEYS
    assert set(body["analytics_overview"]) == ANALYTICS_KEYS
    today = datetime.now(UTC).date()
    days = [(today - timedelta(days=30 - i)).isoformat() for i in range(31)]
    split = body["auth_overview"]["daily_active_users_split"]
    for series in (
        body["daily_users"],
        body["daily_active_users"],
        *split.values(),
        body["email_overview"]["daily_emails"],
        body["payments_overview"]["daily_subscriptions"],
    ):
        assert series == [{"date": d, "activity": 0} for d in days]
    assert set(split) == {"total", "new", "retained", "reactivated"}
    assert body["analytics_overview"]["daily_revenue"] == [
        {"date": d, "new_cents": 0, "refund_cents": 0} for d in days
    ]
    # ClickHouse-only analytics: upstream's shape when it has no events.
    assert body["analytics_overview"]["daily_page_views"] == []
    assert body["analytics_overview"]["top_region"] is None
    assert (body["total_users"], body["users_by_country"], body["login_methods"]) == (0, {}, [])
    assert body["email_overview"]["emails_by_status"] == {}


def test_users_teams_activity_and_sign_in_methods_are_counted(
    http: httpx.Client, project: Project
) -> None:
    sign_up(http, project)
    sign_up(http, project)
    verified = new_user(http, project, country_code="DE")
    create_team(http, project, creator=verified)
    r = http.post("/api/v1/auth/anonymous/sign-up", headers=project.headers())
    assert r.status_code == 200, r.text

    # Activity is counted from ClickHouse's $token-refresh events, which land in batches.
    body = metrics_once(http, project, lambda b: today_of(b["daily_active_users"]) == 3)
    assert body["total_users"] == 3
    overview = {k: v for k, v in body["auth_overview"].items() if not k.endswith("_split")}
    assert overview == {
        "verified_users": 1,
        "unverified_users": 2,
        "anonymous_users": 1,
        "total_teams": 1,
        "mau": 3,
        "total_users_filtered": 3,
    }
    split = body["auth_overview"]["daily_active_users_split"]
    assert today_of(split["new"]) == today_of(split["total"]) == 3
    assert today_of(body["daily_users"]) == today_of(body["daily_active_users"]) == 3
    assert body["users_by_country"] == {"DE": 1}
    assert {m["method"]: m["count"] for m in body["login_methods"]} == {"password": 2}
    assert len(body["recently_registered"]) == 3
    assert body["recently_registered"][0]["id"] == verified.id  # newest first
    assert len(body["recently_active"]) == 3
    assert body["live_users"] == 3
    assert body["analytics_overview"]["online_live"] == 3

    # One token issued per sign-up (the anonymous one too), in this hour's bar.
    hourly = body["analytics_overview"]["hourly_token_refreshes"]
    assert len(hourly) == 48
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    assert hourly[-1]["hour"] in {
        (hour - timedelta(hours=k)).strftime("%Y-%m-%dT%H:00:00Z") for k in (0, 1)
    }
    assert sum(h["count"] for h in hourly) == 4

    with_anonymous = metrics_once(
        http, project, lambda b: today_of(b["daily_active_users"]) == 4, include_anonymous="true"
    )
    assert with_anonymous["total_users"] == 4
    assert today_of(with_anonymous["daily_users"]) == 4
    assert len(with_anonymous["recently_registered"]) == 4

    r = http.get(f"{METRICS}/user-counts", headers=project.headers("admin"))
    assert r.json() == {"total_users": 4, "anonymous_users": 1}


def test_a_selected_team_of_an_active_user_is_an_active_team(
    http: httpx.Client, make_project: Callable[..., Project]
) -> None:
    project = make_project({"teams.createPersonalTeamOnSignUp": True})
    sign_up(http, project, unique_email("teams"))
    teams = metrics(http, project)["auth_overview"]["daily_active_teams_split"]
    assert today_of(teams["new"]) == today_of(teams["total"]) == 1


def test_queued_emails_are_counted_in_progress(
    http: httpx.Client, make_project: Callable[..., Project], make_sink: Any
) -> None:
    project = make_project(custom_server_config(make_sink()))
    user = new_user(http, project)
    r = http.post(
        "/api/v1/emails/send-email",
        headers=project.headers("server"),
        json={
            "user_ids": [user.id],
            "html": "<p>Later</p>",
            "subject": "Later",
            "scheduled_at_millis": int(time.time() * 1000) + 86_400_000,
        },
    )
    assert r.status_code == 200, r.text
    emails = metrics(http, project)["email_overview"]
    assert emails["emails_by_status"] == {"in-progress": 1}
    assert emails["total_emails"] == 1
    assert today_of(emails["daily_emails"]) == 1
    assert emails["daily_emails_by_status"][-1] == {
        "date": datetime.now(UTC).date().isoformat(),
        "ok": 0,
        "error": 0,
        "in_progress": 1,
    }
    [recent] = emails["recent_emails"]
    assert (recent["status"], recent["subject"]) == ("SCHEDULED", "Later")
    assert emails["deliverability_status"] == {
        "delivered": 0,
        "bounced": 0,
        "error": 0,
        "in_progress": 1,
    }


@pytest.mark.parametrize("value", ["yes", "1"])
def test_include_anonymous_takes_true_or_false(
    http: httpx.Client, project: Project, value: str
) -> None:
    r = http.get(METRICS, headers=project.headers("admin"), params={"include_anonymous": value})
    assert r.status_code == 400
    assert r.json()["code"] == "SCHEMA_ERROR"
