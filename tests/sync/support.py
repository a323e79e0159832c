"""Sync test support: the cron's calls, the capture's marks as the database holds them, and the
sync messages as Redis holds them."""

from __future__ import annotations

import json
from typing import Any

import httpx
import redis

from tests.conftest import CRON_SECRET, TEST_REDIS_URL, Project, create_project
from tests.factories import query_rows, query_value

CRON = {"authorization": f"Bearer {CRON_SECRET}"}
SYNC = "/api/latest/internal/external-db-sync"
# A target that is never reached here: the sync engine is the worker's (not running in these
# tests); what matters is that the config names one.
TARGET = {
    "dbSync.externalDatabases.main": {
        "type": "postgres",
        "connectionString": "postgresql://sync@127.0.0.1:1/none",
    }
}


def with_target(database_url: str) -> Project:
    """A new project whose config names one external database."""
    return create_project(database_url, TARGET)


def sequence(http: httpx.Client, **params: Any) -> int:
    """One sequencer call as the cron makes it; its ``iterations``."""
    r = http.get(f"{SYNC}/sequencer", headers=CRON, params=params)
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True
    iterations: int = r.json()["iterations"]
    return iterations


def poll(http: httpx.Client, **params: Any) -> int:
    """One poller call as the cron makes it; its ``requests_processed``."""
    r = http.get(f"{SYNC}/poller", headers=CRON, params=params)
    assert r.status_code == 200, r.text
    processed: int = r.json()["requests_processed"]
    return processed


def set_fusebox(http: httpx.Client, **switches: bool) -> dict[str, Any]:
    r = http.post(f"{SYNC}/fusebox", headers=CRON, json=switches)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def tombstones(database_url: str, tenancy_id: str, mapping: str) -> list[tuple[Any, Any]]:
    """(row_key, sync_sequence_id) of the tenancy's tombstones of ``mapping``, oldest first."""
    return [
        (row[0], row[1])
        for row in query_rows(
            database_url,
            "SELECT row_key, sync_sequence_id FROM sync_tombstones"
            " WHERE tenancy_id = %s AND mapping = %s ORDER BY id",
            (tenancy_id, mapping),
        )
    ]


def pending_request(database_url: str, tenancy_id: str) -> bool:
    return bool(
        query_value(
            database_url,
            "SELECT count(*) FROM external_db_sync_requests WHERE tenancy_id = %s",
            (tenancy_id,),
        )
    )


def queued_tenancies(namespace: str) -> list[str]:
    """The tenancy id of every sync message waiting in the namespace's queue."""
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        raw = client.hvals(f"{namespace}:external_db_sync.msgs")
    finally:
        client.close()
    out = []
    for data in raw:
        message = json.loads(data)
        assert message["actor_name"] == "sync_tenancy", message
        (tenancy_id,) = message["args"]
        out.append(tenancy_id)
    return out
