"""Webhook test support: the receiver (scripts/webhook_receiver.py), endpoints, the database view.

Everything is real and on loopback: the API and worker processes, Redis, and an HTTP receiver
that verifies each request with the ``svix`` package exactly as a Svix receiver does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import Project
from tests.factories import load_script
from tests.mail import wait_until
from tests.mail_fixtures import stopped_after

_receiver = load_script("webhook_receiver")
Receiver = _receiver.Receiver
Received = _receiver.Received

# Private targets allowed (the receiver is on 127.0.0.1), retries compressed, lost wake-ups
# found by the cron step after one second.
HOOKS_ENV = {
    "STACK_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
    "STACK_WEBHOOKS_RETRY_SCHEDULE": "0.3,0.3,0.3",
    "STACK_WEBHOOKS_REQUEUE_AFTER_SECONDS": "1",
}
ENDPOINTS = "/api/v1/internal/webhooks/endpoints"


def add_endpoint(
    http: httpx.Client, project: Project, receiver: Any, path: str = "/hook", **body: Any
) -> dict[str, Any]:
    """Create an endpoint at ``receiver``'s ``path``; the receiver then verifies with its secret."""
    r = http.post(
        ENDPOINTS, headers=project.headers("admin"), json={"url": receiver.url(path), **body}
    )
    assert r.status_code == 201, r.text
    endpoint: dict[str, Any] = r.json()
    receiver.secret(path, endpoint["secret"])
    return endpoint


def attempts(http: httpx.Client, project: Project, endpoint_id: str) -> list[dict[str, Any]]:
    r = http.get(f"{ENDPOINTS}/{endpoint_id}/attempts", headers=project.headers("admin"))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def deliveries(database_url: str, project: Project) -> list[tuple[str, str, int]]:
    """(event type, status, attempt count) of the project's deliveries, in order."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT e.event_type, d.status, d.attempt_count FROM webhook_deliveries d"
            " JOIN webhook_events e ON e.event_id = d.event_id"
            " WHERE d.tenancy_id = %s ORDER BY d.id",
            (project.tenancy_id,),
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


@pytest.fixture
def receiver() -> Iterator[Any]:
    """A verifying receiver on a free loopback port (a fixture: import it where it is used)."""
    yield from stopped_after(Receiver().start())


def send_test(http: httpx.Client, project: Project, endpoint_id: str) -> dict[str, Any]:
    """``POST /internal/send-test-webhook``'s answer."""
    r = http.post(
        "/api/v1/internal/send-test-webhook",
        headers=project.headers("admin"),
        json={"endpoint_id": endpoint_id},
    )
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def wait_received(receiver: Any, count: int, path: str = "/hook", timeout: float = 30) -> list[Any]:
    """Wait until ``path`` got at least ``count`` requests; return them all."""
    wait_until(
        lambda: len(receiver.received(path)) >= count,
        timeout,
        what=f"{count} webhook requests at {path} (got {len(receiver.received(path))})",
    )
    got: list[Any] = receiver.received(path)
    return got


def wait_settled(database_url: str, project: Project, timeout: float = 30) -> None:
    """Wait until no delivery of the project is still pending or being sent."""
    wait_until(
        lambda: all(s in ("succeeded", "failed") for _, s, _ in deliveries(database_url, project)),
        timeout,
        what="every delivery to finish",
    )
