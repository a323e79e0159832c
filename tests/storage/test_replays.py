"""Session replays against the real S3 server: stored per project, listed, read back, isolated."""

from __future__ import annotations

import gzip
import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.helpers import as_user, assert_known_error, sign_up
from tests.conftest import ApiServer, Project, free_port, running_api

BATCH = "/api/v1/session-replays/batch"
LIST = "/api/v1/internal/session-replays"
ANALYTICS = {"apps.installed.analytics.enabled": True}
URL_EXPIRY_S = 2
BUDGET = 6000


@pytest.fixture(scope="module")
def replay_api(migrated_database: str, s3_env: dict[str, str]) -> Iterator[ApiServer]:
    """An API whose presigned URLs live 2 s and whose projects may store 6000 replay bytes."""
    env = {
        **s3_env,
        "STACK_SESSION_REPLAY_URL_EXPIRY_SECONDS": str(URL_EXPIRY_S),
        "STACK_SESSION_REPLAY_PROJECT_BUDGET_BYTES": str(BUDGET),
    }
    with running_api(migrated_database, **env) as server:
        yield server


@pytest.fixture
def rhttp(replay_api: ApiServer) -> Iterator[httpx.Client]:
    with replay_api.client() as client:
        yield client


def rrweb(start_ms: int, n: int, text: str = "x") -> list[dict[str, Any]]:
    """rrweb-shaped events (a full snapshot, then incremental ones)."""
    return [
        {"type": 2 if i == 0 else 3, "timestamp": start_ms + i * 100, "data": {"t": f"{text}{i}"}}
        for i in range(n)
    ]


def batch(events: list[Any], batch_id: str | None = None) -> dict[str, Any]:
    return {
        "browser_session_id": str(uuid.uuid4()),
        "session_replay_segment_id": str(uuid.uuid4()),
        "batch_id": batch_id or str(uuid.uuid4()),
        "started_at_ms": events[0]["timestamp"] if events else 1_780_000_000_000,
        "sent_at_ms": 1_780_000_100_000,
        "events": events,
    }


def user_headers(http: httpx.Client, project: Project) -> tuple[dict[str, str], str]:
    tokens = sign_up(http, project)
    return as_user(project, tokens["access_token"]), tokens["user_id"]


def send(http: httpx.Client, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    r = http.post(BATCH, headers=headers, json=body)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_two_users_batches_are_stored_listed_and_read_back(
    rhttp: httpx.Client, make_project: Any, seaweedfs: Any
) -> None:
    project = make_project(ANALYTICS)
    admin = project.headers("admin")
    alice, alice_id = user_headers(rhttp, project)
    bob, bob_id = user_headers(rhttp, project)
    a1, a2 = rrweb(1_780_000_000_000, 3, "a"), rrweb(1_780_000_001_000, 2, "b")
    first = send(rhttp, alice, batch(a1))
    retry_body = batch(a2)
    second = send(rhttp, alice, retry_body)
    assert first["session_replay_id"] == second["session_replay_id"]  # one session, one replay
    assert first["deduped"] is False
    again = send(rhttp, alice, retry_body)  # a retried batch is not stored twice
    assert again == {**second, "deduped": True}
    bob_replay = send(rhttp, bob, batch(rrweb(1_780_000_005_000, 4, "c")))["session_replay_id"]

    listed = rhttp.get(LIST, headers=admin)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert [
        (i["id"], i["project_user"]["id"], i["chunk_count"], i["event_count"]) for i in items
    ] == [
        (bob_replay, bob_id, 1, 4),  # newest first
        (first["session_replay_id"], alice_id, 2, 5),
    ]
    assert items[1]["started_at_millis"] == 1_780_000_000_000
    assert items[1]["last_event_at_millis"] == 1_780_000_001_100
    page = rhttp.get(LIST, headers=admin, params={"limit": "1"}).json()
    assert [i["id"] for i in page["items"]] == [bob_replay]
    rest = rhttp.get(LIST, headers=admin, params={"limit": "1", "cursor": bob_replay}).json()
    assert [i["id"] for i in rest["items"]] == [first["session_replay_id"]]
    assert rest["pagination"]["next_cursor"] is None
    only_alice = rhttp.get(LIST, headers=admin, params={"user_ids": alice_id}).json()["items"]
    assert [i["id"] for i in only_alice] == [first["session_replay_id"]]

    chunks = rhttp.get(f"{LIST}/{first['session_replay_id']}/chunks", headers=admin)
    assert chunks.status_code == 200, chunks.text
    got = chunks.json()["items"]
    assert [c["event_count"] for c in got] == [3, 2]  # oldest first
    served = httpx.get(got[0]["download_url"])
    assert served.status_code == 200
    assert json.loads(gzip.decompress(served.content))["events"] == a1
    # The object is in the private bucket: no anonymous read, and not in the public bucket.
    key = got[0]["download_url"].split("?")[0].split(f"/{seaweedfs.private_bucket}/", 1)[1]
    assert key.startswith(f"session-replays/{project.id}/")
    assert httpx.get(f"{seaweedfs.endpoint}/{seaweedfs.private_bucket}/{key}").status_code == 403

    events = rhttp.get(f"{LIST}/{first['session_replay_id']}/events", headers=admin).json()
    assert [e["events"] for e in events["chunk_events"]] == [a1, a2]
    one = rhttp.get(
        f"{LIST}/{first['session_replay_id']}/chunks/{got[1]['id']}/events", headers=admin
    )
    assert one.json() == {"events": a2}

    time.sleep(URL_EXPIRY_S + 1.5)
    assert httpx.get(got[0]["download_url"]).status_code == 403  # the URL has expired


def test_another_projects_admin_cannot_list_or_read_them(
    rhttp: httpx.Client, make_project: Any
) -> None:
    project, other = make_project(ANALYTICS), make_project(ANALYTICS)
    headers, _ = user_headers(rhttp, project)
    replay = send(rhttp, headers, batch(rrweb(1_780_000_000_000, 2)))["session_replay_id"]
    chunk = rhttp.get(f"{LIST}/{replay}/chunks", headers=project.headers("admin")).json()
    chunk_id = chunk["items"][0]["id"]
    theirs = other.headers("admin")
    assert rhttp.get(LIST, headers=theirs).json()["items"] == []
    for path in (
        f"{LIST}/{replay}/chunks",
        f"{LIST}/{replay}/events",
        f"{LIST}/{replay}/chunks/{chunk_id}/events",
    ):
        r = rhttp.get(path, headers=theirs)
        assert r.status_code == 404, (path, r.text)
        assert "events" not in r.text
    for access in ("client", "server"):
        r = rhttp.get(LIST, headers=project.headers(access))
        assert r.status_code in (401, 403), r.text


def test_replays_need_the_analytics_app(rhttp: httpx.Client, project: Project) -> None:
    headers, _ = user_headers(rhttp, project)
    r = rhttp.post(BATCH, headers=headers, json=batch(rrweb(1_780_000_000_000, 1)))
    assert_known_error(r, "ANALYTICS_NOT_ENABLED", 400)
    assert rhttp.get(LIST, headers=project.headers("admin")).json()["items"] == []


def test_past_the_budget_batches_are_refused(rhttp: httpx.Client, make_project: Any) -> None:
    project = make_project(ANALYTICS)
    headers, _ = user_headers(rhttp, project)
    noise = os.urandom(BUDGET).hex()  # incompressible: one batch fills the budget
    send(rhttp, headers, batch([{"type": 3, "timestamp": 1_780_000_000_000, "data": noise}]))
    r = rhttp.post(BATCH, headers=headers, json=batch(rrweb(1_780_000_001_000, 1)))
    assert r.status_code == 413, r.text
    assert "budget" in r.text
    items = rhttp.get(LIST, headers=project.headers("admin")).json()["items"]
    assert [i["chunk_count"] for i in items] == [1]


def test_oversized_and_bad_batches_are_refused(rhttp: httpx.Client, make_project: Any) -> None:
    project = make_project(ANALYTICS)
    headers, _ = user_headers(rhttp, project)
    big = batch([{"type": 3, "timestamp": 1_780_000_000_000, "data": "y" * 1_000_001}])
    assert rhttp.post(BATCH, headers=headers, json=big).status_code == 413
    for body in (
        batch([]),
        batch(rrweb(1_780_000_000_000, 5001)),
        {**batch(rrweb(1, 1)), "batch_id": "x"},
    ):
        assert_known_error(rhttp.post(BATCH, headers=headers, json=body), "SCHEMA_ERROR", 400)
    r = rhttp.post(BATCH, headers=project.headers(), json=batch(rrweb(1_780_000_000_000, 1)))
    assert r.status_code in (400, 401), r.text
    assert rhttp.get(LIST, headers=project.headers("admin")).json()["items"] == []


def test_storage_down_answers_503_and_writes_nothing(
    migrated_database: str, s3_env: dict[str, str], make_project: Any
) -> None:
    env = {**s3_env, "STACK_S3_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    project = make_project(ANALYTICS)
    with running_api(migrated_database, **env) as server, server.client() as http:
        headers, _ = user_headers(http, project)
        r = http.post(BATCH, headers=headers, json=batch(rrweb(1_780_000_000_000, 2)))
        assert r.status_code == 503, r.text
        assert http.get(LIST, headers=project.headers("admin")).json()["items"] == []
