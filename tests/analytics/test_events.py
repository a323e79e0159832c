"""Events through the API into the embedded ClickHouse store, read back with admin SQL."""

from __future__ import annotations

import uuid

import httpx

from tests.analytics.helpers import analytics_query, rows, wait_for_rows
from tests.api.helpers import as_user, assert_known_error, jwt_parts, refresh, sign_up
from tests.factories import Project

REFRESHES = 5
TOKEN_EVENTS = (
    "SELECT user_id, refresh_token_id, project_id, branch_id,"
    " toString(data.refresh_token_id) AS data_refresh_token_id,"
    " toString(data.is_anonymous) AS is_anonymous, toString(data.ip_info.ip) AS ip"
    " FROM events WHERE event_type = '$token-refresh' ORDER BY event_at"
)


def test_every_token_issue_is_one_token_refresh_event_of_its_project(
    http: httpx.Client, project: Project, make_project: object
) -> None:
    tokens = sign_up(http, project)
    for _ in range(REFRESHES):
        assert refresh(http, project, tokens["refresh_token"]).status_code == 200
    other = make_project()  # type: ignore[operator]
    sign_up(http, other)

    found = wait_for_rows(http, project, TOKEN_EVENTS, 1 + REFRESHES)
    session_id = jwt_parts(tokens["access_token"])[1]["refresh_token_id"]
    assert {
        (r["user_id"], r["refresh_token_id"], r["project_id"], r["branch_id"]) for r in found
    } == {(tokens["user_id"], session_id, project.id, "main")}
    assert {r["data_refresh_token_id"] for r in found} == {session_id}
    assert {r["is_anonymous"] for r in found} == {"false"}
    assert {r["ip"] for r in found} == {"127.0.0.1"}
    # The other project's sign-up is its own, and not visible here.
    assert len(wait_for_rows(http, other, TOKEN_EVENTS, 1)) == 1


def _batch(*types: str) -> dict[str, object]:
    return {
        "session_replay_segment_id": str(uuid.uuid4()),
        "batch_id": str(uuid.uuid4()),
        "sent_at_ms": 1_780_000_000_000,
        "events": [
            {"event_type": t, "event_at_ms": 1_780_000_000_000 + i, "data": {"path": f"/p{i}"}}
            for i, t in enumerate(types)
        ],
    }


def test_browser_events_need_the_analytics_app_and_land_with_the_user(
    http: httpx.Client, project: Project, make_project: object
) -> None:
    tokens = sign_up(http, project)
    headers = as_user(project, tokens["access_token"])
    refused = http.post("/api/v1/analytics/events/batch", headers=headers, json=_batch("$click"))
    assert_known_error(refused, "ANALYTICS_NOT_ENABLED", 400)

    enabled = make_project({"apps.installed.analytics.enabled": True})  # type: ignore[operator]
    tokens = sign_up(http, enabled)
    headers = as_user(enabled, tokens["access_token"])
    body = _batch("$page-view", "$click", "$page-view")
    r = http.post("/api/v1/analytics/events/batch", headers=headers, json=body)
    assert r.status_code == 200, r.text
    assert r.json() == {"inserted": 3}
    found = wait_for_rows(
        http,
        enabled,
        "SELECT event_type, user_id, session_replay_segment_id, toString(data.path) AS path"
        " FROM events WHERE event_type IN ('$page-view', '$click') ORDER BY event_at",
        3,
    )
    assert [(f["event_type"], f["path"]) for f in found] == [
        ("$page-view", "/p0"),
        ("$click", "/p1"),
        ("$page-view", "/p2"),
    ]
    assert {(f["user_id"], f["session_replay_segment_id"]) for f in found} == {
        (tokens["user_id"], body["session_replay_segment_id"])
    }


def test_bad_event_batches_are_schema_errors_and_nothing_is_written(
    http: httpx.Client, make_project: object
) -> None:
    enabled = make_project({"apps.installed.analytics.enabled": True})  # type: ignore[operator]
    tokens = sign_up(http, enabled)
    headers = as_user(enabled, tokens["access_token"])
    bad = [
        {**_batch("$click"), "events": []},
        _batch(*["$click"] * 501),
        _batch("$purchase"),
        {**_batch("$click"), "batch_id": "not-a-uuid"},
        {**_batch("$click"), "sent_at_ms": -1},
    ]
    for body in bad:
        r = http.post("/api/v1/analytics/events/batch", headers=headers, json=body)
        assert_known_error(r, "SCHEMA_ERROR", 400)
    # Without a user the batch is refused too.
    r = http.post(
        "/api/v1/analytics/events/batch", headers=enabled.headers(), json=_batch("$click")
    )
    assert r.status_code in (400, 401), r.text
    counted = rows(http, enabled, "SELECT count() AS n FROM events WHERE event_type = '$click'")
    assert int(counted[0]["n"]) == 0


def test_query_timing_is_kept_for_the_project_that_ran_it(
    http: httpx.Client, project: Project, make_project: object
) -> None:
    r = analytics_query(http, project, "SELECT 1 AS one")
    assert r.status_code == 200, r.text
    assert r.json()["result"] == [{"one": 1}]
    query_id = r.json()["query_id"]
    assert query_id.startswith(f"{project.id}:main:")
    timing = http.post(
        "/api/v1/internal/analytics/query/timing",
        headers=project.headers("server"),
        json={"query_id": query_id},
    )
    assert timing.status_code == 200, timing.text
    stats = timing.json()["stats"]
    assert stats["wall_clock_time"] > 0
    assert stats["cpu_time"] >= 0
    other = make_project()  # type: ignore[operator]
    stolen = http.post(
        "/api/v1/internal/analytics/query/timing",
        headers=other.headers("server"),
        json={"query_id": query_id},
    )
    assert stolen.status_code == 404, stolen.text


def test_query_body_limits_are_schema_errors(http: httpx.Client, project: Project) -> None:
    for body in (
        {"query": ""},
        {"query": "SELECT 1", "timeout_ms": 999},
        {"query": "SELECT 1", "timeout_ms": 120_001},
        {"query": "SELECT 1", "include_all_branches": True},
        {"query": "SELECT 1", "unknown": 1},
    ):
        r = http.post(
            "/api/v1/internal/analytics/query", headers=project.headers("admin"), json=body
        )
        assert_known_error(r, "SCHEMA_ERROR", 400)
    for access in ("client", "server"):
        r = http.post(
            "/api/v1/internal/analytics/query",
            headers=project.headers(access),
            json={"query": "SELECT 1"},
        )
        assert r.status_code in (401, 403), r.text


def test_an_event_clickhouse_cannot_store_is_dropped_alone_and_blocks_nothing(
    http: httpx.Client, make_project: object
) -> None:
    """A client can send JSON the engine refuses (here a path given twice, as "a.b" and as
    {"a": {"b"}}); the writer finds it by halving its batch and drops only it."""
    enabled = make_project({"apps.installed.analytics.enabled": True})  # type: ignore[operator]
    tokens = sign_up(http, enabled)
    headers = as_user(enabled, tokens["access_token"])
    body = _batch("$click", "$click", "$click")
    events: list[dict[str, object]] = body["events"]  # type: ignore[assignment]
    events[1]["data"] = {"a.b": 1, "a": {"b": 2}}
    r = http.post("/api/v1/analytics/events/batch", headers=headers, json=body)
    assert r.status_code == 200, r.text
    later = http.post("/api/v1/analytics/events/batch", headers=headers, json=_batch("$page-view"))
    assert later.status_code == 200, later.text
    found = wait_for_rows(
        http,
        enabled,
        "SELECT event_type, toString(data.path) AS path FROM events"
        " WHERE event_type IN ('$click', '$page-view') ORDER BY event_type, path",
        3,
    )
    assert [(f["event_type"], f["path"]) for f in found] == [
        ("$click", "/p0"),
        ("$click", "/p2"),
        ("$page-view", "/p0"),
    ]


def test_browser_event_times_outside_2000_to_2100_are_schema_errors(
    http: httpx.Client, make_project: object
) -> None:
    enabled = make_project({"apps.installed.analytics.enabled": True})  # type: ignore[operator]
    tokens = sign_up(http, enabled)
    headers = as_user(enabled, tokens["access_token"])
    for at in (0, 946_684_799_999, 4_102_444_800_000, 253_402_300_799_999):
        body = _batch("$click")
        body["events"][0]["event_at_ms"] = at  # type: ignore[index]
        r = http.post("/api/v1/analytics/events/batch", headers=headers, json=body)
        assert_known_error(r, "SCHEMA_ERROR", 400)
