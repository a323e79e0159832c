"""Asking the session API's analytics store, as an admin would."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.factories import Project

# Events are written in batches about every half second: wait at most this long for them.
EVENTS_VISIBLE_S = 15.0


def analytics_query(
    http: httpx.Client, project: Project, query: str, **body: Any
) -> httpx.Response:
    return http.post(
        "/api/v1/internal/analytics/query",
        headers=project.headers("admin"),
        json={"query": query, **body},
        timeout=60,
    )


def rows(http: httpx.Client, project: Project, query: str, **body: Any) -> list[dict[str, Any]]:
    r = analytics_query(http, project, query, **body)
    assert r.status_code == 200, r.text
    result: list[dict[str, Any]] = r.json()["result"]
    return result


def wait_for_rows(
    http: httpx.Client, project: Project, query: str, expected: int, **body: Any
) -> list[dict[str, Any]]:
    """``query``'s rows once there are ``expected`` of them (events land asynchronously)."""
    deadline = time.monotonic() + EVENTS_VISIBLE_S
    while True:
        found = rows(http, project, query, **body)
        if len(found) >= expected or time.monotonic() > deadline:
            assert len(found) == expected, found
            return found
        time.sleep(0.3)
