"""Session replays on the dashboard: a user's page lists their replays; the player page plays one
with rrweb's vendored player (served by the dashboard, no CDN) in a real browser."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.api.helpers import create_session, create_user
from tests.dashboard.conftest import DashboardServer, screenshot, sign_in
from tests.dashboard.helpers import unique

VENDOR = (
    Path(__file__).resolve().parents[2]
    / "services/dashboard/src/authstack_dashboard/static/vendor/rrweb-player"
)


def recording(now: int) -> list[dict[str, Any]]:
    """A tiny rrweb recording: meta, a full snapshot of a page with a heading, a mouse move."""
    text = {"type": 3, "textContent": "Hello replay", "id": 6}
    heading = {"type": 2, "tagName": "h1", "attributes": {"id": "t"}, "childNodes": [text], "id": 5}
    body = {"type": 2, "tagName": "body", "attributes": {}, "childNodes": [heading], "id": 4}
    head = {"type": 2, "tagName": "head", "attributes": {}, "childNodes": [], "id": 3}
    html = {"type": 2, "tagName": "html", "attributes": {}, "childNodes": [head, body], "id": 2}
    document = {"type": 0, "childNodes": [html], "id": 1}
    return [
        {"type": 4, "timestamp": now, "data": {"href": "https://app.example/", "width": 800,
                                               "height": 600}},
        {"type": 2, "timestamp": now + 10,
         "data": {"node": document, "initialOffset": {"top": 0, "left": 0}}},
        {"type": 3, "timestamp": now + 1500,
         "data": {"source": 1, "positions": [{"x": 10, "y": 20, "id": 5, "timeOffset": 0}]}},
    ]  # fmt: skip


def test_a_users_replay_is_listed_and_plays(
    page: Any, dashboard: DashboardServer, api: Any, make_project: Any
) -> None:
    project = make_project({"apps.installed.analytics.enabled": True})
    name = unique("Replayed")
    with api.client() as http:
        user = create_user(http, project, display_name=name)
        token = create_session(http, project, user["id"])["access_token"]
        now = int(time.time() * 1000) - 5_000
        r = http.post(
            "/api/v1/session-replays/batch",
            headers=project.headers("client", **{"x-stack-access-token": token}),
            json={"browser_session_id": str(uuid.uuid4()),
                  "session_replay_segment_id": str(uuid.uuid4()), "batch_id": str(uuid.uuid4()),
                  "started_at_ms": now, "sent_at_ms": now + 2_000, "events": recording(now)},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        replay_id = r.json()["session_replay_id"]

    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    sign_in(page)
    page.goto(f"/projects/{project.id}/users/{user['id']}")
    rows = page.locator("table.replays tbody tr")
    assert rows.count() == 1
    assert "3" in rows.first.inner_text()
    rows.first.get_by_role("link", name="Play").click()
    page.wait_for_url(f"**/replays/{replay_id}", wait_until="domcontentloaded")
    page.locator("#replay-player[data-ready=true] .rr-player").wait_for()
    frame = page.frame_locator("#replay-player iframe")
    assert frame.locator("h1").inner_text() == "Hello replay"
    screenshot(page, "replay_player")
    assert not [m for m in console if "Content Security Policy" in m], console
    csp = httpx.get(page.url).headers["content-security-policy"]
    assert "style-src 'self' 'unsafe-inline'; script-src 'self';" in csp


def test_the_vendored_player_is_the_pinned_package_served_by_the_dashboard(
    dashboard: DashboardServer,
) -> None:
    manifest = json.loads((VENDOR / "MANIFEST.json").read_text())
    assert (manifest["package"], manifest["version"]) == ("rrweb-player", "2.1.7")
    for name, digest in manifest["sha256"].items():
        served = httpx.get(f"{dashboard.url}/static/vendor/rrweb-player/{name}")
        assert served.status_code == 200, name
        assert hashlib.sha256(served.content).hexdigest() == digest, name
