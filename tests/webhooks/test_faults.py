"""Fault drills with exact counts: refusals then success, a worker SIGKILLed mid-batch, Redis down
during the changes, a receiver down for good (compressed retry schedule: 0.3 s, 3 retries)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from authstack_core.domain.webhook_delivery import BATCH
from tests.api.helpers import create_user
from tests.api.team_helpers import new_user
from tests.conftest import Project
from tests.factories import query_value
from tests.mail import WorkerProcess, queue_step, wait_until
from tests.mail_fixtures import PrivateRedis
from tests.webhooks.conftest import Hooked, Hooks, OwnStack
from tests.webhooks.support import (
    add_endpoint,
    attempts,
    deliveries,
    wait_received,
    wait_settled,
)

ATTEMPTS = 4  # HOOKS_ENV's schedule: the first attempt and three retries


def test_two_refusals_then_success_is_delivered_with_three_attempts_recorded(
    hooks: Hooks, hooks_http: httpx.Client, receiver: Any, hooked: Hooked
) -> None:
    project, endpoint = hooked
    receiver.answer("/hook", 500, 500)
    new_user(hooks_http, project)
    got = wait_received(receiver, 3)
    wait_settled(hooks.database_url, project)
    assert [r.status for r in got] == [500, 500, 200]
    assert len({r.message_id for r in got}) == 1  # the same message, retried
    assert len({r.body for r in got}) == 1
    assert all(r.verified for r in got)
    assert deliveries(hooks.database_url, project) == [("user.created", "succeeded", 3)]
    listed = attempts(hooks_http, project, endpoint["id"])
    assert [(a["status"], a["response_status_code"]) for a in listed] == [
        ("succeeded", 200),
        ("failed", 500),
        ("failed", 500),
    ]
    assert {a["message_id"] for a in listed} == {got[0].message_id}
    assert listed[1]["error"] == "HTTP 500: no"


def test_a_receiver_down_for_good_fails_after_the_schedule_and_can_be_replayed(
    hooks: Hooks, hooks_http: httpx.Client, receiver: Any, hooked: Hooked
) -> None:
    project, endpoint = hooked
    receiver.stop()
    new_user(hooks_http, project)
    new_user(hooks_http, project)
    wait_until(
        lambda: (
            deliveries(hooks.database_url, project) == [("user.created", "failed", ATTEMPTS)] * 2
        ),
        timeout=30,
        what="both deliveries to fail after the whole schedule",
    )
    listed = attempts(hooks_http, project, endpoint["id"])
    assert len(listed) == 2 * ATTEMPTS
    assert {a["status"] for a in listed} == {"failed"}
    assert {a["response_status_code"] for a in listed} == {None}
    assert all(a["error"].startswith("could not connect") for a in listed), listed

    receiver.start()  # the same port again
    admin = project.headers("admin")
    for message in dict.fromkeys(a["message_id"] for a in listed):
        r = hooks_http.post(f"/api/v1/internal/webhooks/messages/{message}/retry", headers=admin)
        assert r.status_code == 200, r.text
        assert r.json() == {"success": True, "requeued": 1}
    got = wait_received(receiver, 2)
    wait_settled(hooks.database_url, project)
    assert all(r.verified for r in got)
    assert [s for _, s, _ in deliveries(hooks.database_url, project)] == ["succeeded"] * 2
    unknown = hooks_http.post(
        "/api/v1/internal/webhooks/messages/msg_00000000000040008000000000000000/retry",
        headers=admin,
    )
    assert unknown.status_code == 404


@dataclass
class Drill:
    """A project with an endpoint at the receiver, on an API and worker of the test's own."""

    project: Project
    http: httpx.Client
    worker: WorkerProcess


@pytest.fixture
def drill(own_stack: OwnStack, private_redis: PrivateRedis, receiver: Any) -> Iterator[Drill]:
    """The test's own stack on its private Redis, and a project hooked to ``receiver``."""
    api, worker = own_stack.start(private_redis.url)
    project = own_stack.project()
    with api.client() as http:
        add_endpoint(http, project, receiver)
        yield Drill(project, http, worker)


def test_worker_killed_mid_batch_loses_nothing(
    own_stack: OwnStack, drill: Drill, receiver: Any
) -> None:
    project, http = drill.project, drill.http
    receiver.delay = 0.15  # a slow endpoint: the worker is mid-batch for seconds
    users = [create_user(http, project)["id"] for _ in range(30)]
    wait_received(receiver, 5)
    # SIGKILL: its lane lock dies with its connection; claimed rows stay 'sending'
    drill.worker.kill()
    before = len(receiver.received())
    assert before < 30
    receiver.delay = 0.0
    own_stack.worker()

    def all_succeeded() -> bool:
        queue_step(http)  # what the cron does every minute, here every half second
        states = [s for _, s, _ in deliveries(own_stack.database_url, project)]
        return states == ["succeeded"] * 30

    wait_until(all_succeeded, timeout=60, interval=0.5, what="every delivery to succeed")
    got = receiver.received()
    assert all(r.verified for r in got)
    created = [r.json()["data"]["id"] for r in got]
    assert set(created) == set(users)  # every event arrived
    counts = Counter(r.message_id for r in got)
    assert len(counts) == 30
    # Duplicates are only retries of the same message, and only of what the dead worker had
    # sent in its last batch (outcomes are recorded per batch), each at most once more.
    repeated = [m for m, n in counts.items() if n > 1]
    assert len(repeated) <= BATCH
    assert max(counts.values()) <= 2
    sent_before = {r.message_id for r in got[:before]}
    for message in repeated:
        assert message in sent_before
        assert len({r.body for r in got if r.message_id == message}) == 1
    # Order held: each message's first arrival came after the previous message's.
    first_seen = list(dict.fromkeys(created))
    assert first_seen == users


def test_redis_down_during_the_changes_delivers_after_it_returns_and_the_cron_step_runs(
    own_stack: OwnStack, private_redis: PrivateRedis, drill: Drill, receiver: Any
) -> None:
    project, http = drill.project, drill.http
    create_user(http, project)
    wait_received(receiver, 1)

    private_redis.stop()
    during = [create_user(http, project)["id"] for _ in range(5)]  # the rows are the record
    wait_until(lambda: _overdue(own_stack), timeout=10, what="the events to be overdue")
    assert queue_step(http).status_code == 503  # cannot enqueue: says so, loses nothing
    assert len(receiver.received()) == 1
    private_redis.start()  # empty: the wake-ups that were never sent are not there either
    step = queue_step(http)
    assert step.status_code == 200, step.text
    got = wait_received(receiver, 6)
    wait_settled(own_stack.database_url, project)
    assert [r.json()["data"]["id"] for r in got[1:]] == during
    assert all(r.verified for r in got)
    assert len({r.message_id for r in got}) == 6


def _overdue(stack: OwnStack) -> bool:
    return bool(
        query_value(
            stack.database_url,
            "SELECT count(*) FROM webhook_events WHERE status = 'queued'"
            " AND created_at < now() - interval '1 second'",
        )
    )
