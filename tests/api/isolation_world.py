"""B's side of the isolation matrix: objects B creates so that A's probes can name them."""

from __future__ import annotations

import uuid
from typing import Any

from tests.api.isolation_probes import AUDIT


def b_audit_entries(http: Any, b: Any, b_user: str) -> tuple[dict[str, str], list[str]]:
    """B's server key impersonates B's user (after B's config change): B's audit log then
    holds two entries. Returns the cursor after B's newest one, and what must not leak."""
    r = http.post(
        "/api/v1/auth/sessions",
        headers=b.headers("server", **{"user-agent": "B-secret-agent/1.0"}),
        json={"user_id": b_user, "is_impersonation": True},
    )
    assert r.status_code == 200, r.text
    page = http.get(AUDIT, headers=b.headers("admin"), params={"limit": "1"}).json()
    assert page["items"][0]["action"] == "session.impersonation_started", page
    cursor = page["pagination"]["next_cursor"]
    assert cursor is not None, page
    entry = page["items"][0]
    return {"b_audit_cursor": cursor}, [
        entry["id"],
        entry["details"]["session_id"],
        "B-secret-agent",
    ]


def b_session_replay(http: Any, b: Any, access_token: str) -> dict[str, str]:
    """B's user records a session replay: its id, its one chunk's id and the batch's id."""
    batch_id = str(uuid.uuid4())
    body = {
        "browser_session_id": str(uuid.uuid4()),
        "session_replay_segment_id": str(uuid.uuid4()),
        "batch_id": batch_id,
        "started_at_ms": 1_780_000_000_000,
        "sent_at_ms": 1_780_000_000_500,
        "events": [{"type": 2, "timestamp": 1_780_000_000_000, "data": {"b": "B secret page"}}],
    }
    headers = b.headers("client", **{"x-stack-access-token": access_token})
    r = http.post("/api/v1/session-replays/batch", headers=headers, json=body)
    assert r.status_code == 200, r.text
    replay = r.json()["session_replay_id"]
    chunks = http.get(
        f"/api/v1/internal/session-replays/{replay}/chunks", headers=b.headers("admin")
    ).json()["items"]
    return {"b_replay": replay, "b_replay_chunk": chunks[0]["id"], "b_replay_batch": batch_id}


def b_email_theme_and_draft(http: Any, b: Any) -> tuple[dict[str, str], list[str]]:
    """B's own email theme and an email draft in it: their ids, and what must not leak."""
    admin = b.headers("admin")
    source = "<html><body><p>B-secret-theme-body</p>{% block content %}{% endblock %}</body></html>"
    r = http.post(
        "/api/v1/internal/email-themes",
        headers=admin,
        json={"display_name": "B secret theme", "tsx_source": source},
    )
    assert r.status_code == 200, r.text
    theme = r.json()["id"]
    r = http.post(
        "/api/v1/internal/email-drafts",
        headers=admin,
        json={
            "display_name": "B secret draft",
            "theme_id": theme,
            "subject": "B-secret-draft-subject",
            "tsx_source": '{% extends "layout.html" %}{% block content %}B-secret-draft-body'
            "{% endblock %}",
        },
    )
    assert r.status_code == 200, r.text
    return {"b_theme": theme, "b_draft": r.json()["id"]}, [
        "B secret theme",
        "B-secret-theme-body",
        "B secret draft",
        "B-secret-draft-subject",
        "B-secret-draft-body",
    ]


def b_email_snapshot(http: Any, b: Any, ids: dict[str, str]) -> dict[str, Any]:
    """B's themes (the list and B's own theme's source) and drafts, as B's admin reads them."""
    admin = b.headers("admin")
    return {
        "themes": http.get("/api/v1/internal/email-themes", headers=admin).json(),
        "theme": http.get(f"/api/v1/internal/email-themes/{ids['b_theme']}", headers=admin).json(),
        "drafts": http.get("/api/v1/internal/email-drafts", headers=admin).json(),
    }
