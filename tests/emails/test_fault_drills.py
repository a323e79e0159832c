"""Fault drills: Redis stopped, a worker SIGKILLed mid-batch. Each counts delivered messages.

Each drill has its own database (no other test's rows to recover), its own API and worker, and
its own mail sink; the Redis one stops its own redis-server, never the machine's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.helpers import create_user, sign_up, unique_email
from tests.conftest import ApiServer, Project, create_project, start_api, stop_api
from tests.mail import (
    PRIVATE_TARGETS_ENV,
    MailSink,
    WorkerProcess,
    custom_server_config,
    held_by_workers,
    outbox_rows,
    queue_step,
    send_email,
    start_worker,
    unacked_wakeups,
    wait_until,
)
from tests.mail_fixtures import PrivateRedis

CALLBACK = "http://localhost:3000/handler/email-verification"
# Short lease and requeue delay so that recovery happens within the test's patience.
RECOVERY_ENV = {
    "STACK_EMAIL_SEND_LEASE_SECONDS": "3",
    "STACK_EMAIL_REQUEUE_AFTER_SECONDS": "2",
}
NAMESPACE = "drill"


@pytest.fixture
def cleanup() -> Iterator[list[Any]]:
    things: list[Any] = []
    try:
        yield things
    finally:
        for thing in reversed(things):
            if isinstance(thing, ApiServer):
                stop_api(thing)
            else:
                thing.stop()


def sign_up_verifying(http: httpx.Client, project: Project, email: str) -> None:
    sign_up(http, project, email, verification_callback_url=CALLBACK)


def wait_for_idle_queue(redis_url: str, *, besides: frozenset[str] = frozenset()) -> None:
    """Wait until every wake-up enqueued so far (but ``besides``) has been handled to the end.

    What a worker sends, it sends before it acknowledges the wake-up: once none is left, the
    sink has everything the queue will ever deliver, with no sleep to hope it was long enough.
    """
    wait_until(
        lambda: not unacked_wakeups(redis_url, NAMESPACE) - besides,
        timeout=30,
        what="the worker to handle every wake-up",
    )


def assert_each_once(sink: MailSink, recipients: list[str]) -> None:
    """Every recipient got exactly one message, and nothing else arrived."""
    received = Counter(to for m in sink.messages() for to in m["rcpt_tos"])
    assert received == Counter(recipients), received
    message_ids = [m["message_id"] for m in sink.messages()]
    assert len(set(message_ids)) == len(message_ids)


def test_redis_stopped_during_sign_ups_then_restarted_delivers_every_email_once(
    drill_database: str, private_redis: PrivateRedis, make_sink: Any, cleanup: list[Any]
) -> None:
    sink: MailSink = make_sink()
    env = {"STACK_REDIS_URL": private_redis.url, "STACK_QUEUE_NAMESPACE": NAMESPACE}
    # The API requeues at once (no requeue delay): the last cron step below then re-sends any
    # row it wrongly takes for lost without the test having to wait out a delay first.
    api = start_api(
        drill_database, **env, **{**RECOVERY_ENV, "STACK_EMAIL_REQUEUE_AFTER_SECONDS": "0"}
    )
    cleanup.append(api)
    cleanup.append(start_worker(drill_database, sink, **env, **RECOVERY_ENV))
    project = create_project(drill_database)
    http = api.client()

    before = [unique_email("before") for _ in range(3)]
    for email in before:
        sign_up_verifying(http, project, email)
    wait_until(lambda: sink.state()["received"] == 3, what="the first 3 emails")

    private_redis.stop()
    during = [unique_email("during") for _ in range(10)]
    for email in during:
        sign_up_verifying(http, project, email)  # sign-up still succeeds: the row is the record
    pending = [r for r in outbox_rows(drill_database) if r["status"] == "pending"]
    assert len(pending) == 10
    # With Redis down the cron step cannot enqueue: it says so, and loses nothing.
    assert queue_step(http).status_code == 503
    assert len([r for r in outbox_rows(drill_database) if r["status"] == "pending"]) == 10

    private_redis.start()  # empty: whatever it held is gone
    # Nothing can arrive until the cron step runs: no wake-up exists for the 10 pending rows.
    assert unacked_wakeups(private_redis.url, NAMESPACE) == set()
    assert sink.state()["received"] == 3
    step = queue_step(http)
    assert step.status_code == 200, step.text
    assert step.json() == {"ok": True}

    wait_until(lambda: sink.state()["received"] == 13, timeout=30, what="all 13 emails")
    wait_until(
        lambda: {r["status"] for r in outbox_rows(drill_database)} == {"sent"},
        what="every row to be marked sent",
    )
    # A second cron step must not send anything again.
    assert queue_step(http).status_code == 200
    wait_for_idle_queue(private_redis.url)
    assert_each_once(sink, before + during)
    assert {r["status"] for r in outbox_rows(drill_database)} == {"sent"}


def test_worker_killed_mid_batch_and_restarted_delivers_every_email_once(
    drill_database: str, private_redis: PrivateRedis, make_sink: Any, cleanup: list[Any]
) -> None:
    sink: MailSink = make_sink()
    env = {"STACK_REDIS_URL": private_redis.url, "STACK_QUEUE_NAMESPACE": NAMESPACE}
    api = start_api(drill_database, **env, **RECOVERY_ENV)
    cleanup.append(api)
    worker: WorkerProcess = start_worker(
        drill_database, None, **env, **RECOVERY_ENV, **PRIVATE_TARGETS_ENV
    )
    cleanup.append(worker)
    project = create_project(drill_database, custom_server_config(sink))
    http = api.client()

    recipients = []
    user_ids = []
    for _ in range(30):
        email = unique_email("batch")
        recipients.append(email)
        user_ids.append(create_user(http, project, primary_email=email)["id"])

    # The server accepts 10 messages, then holds its reply to DATA: the worker's 4 threads are
    # then each mid-send, with the rest of the batch waiting in Redis or prefetched.
    sink.behave(hold_after=10)
    r = send_email(http, project, user_ids, html="<p>batch</p>", subject="Batch")
    assert r.status_code == 200, r.text
    wait_until(lambda: sink.state()["held"] == 4, what="4 deliveries held mid-DATA")
    assert sink.state()["received"] == 10

    worker.kill()  # SIGKILL: no clean-up, leases held, prefetched messages unacknowledged
    # What the dead worker took stays unacknowledged in Redis; the outbox, not Redis, recovers it.
    orphaned = frozenset(held_by_workers(private_redis.url, NAMESPACE))
    wait_until(lambda: sink.state()["held"] == 0, what="the server to drop the dead sessions")
    statuses = Counter(r["status"] for r in outbox_rows(drill_database))
    assert statuses["sent"] == 10
    assert statuses["sending"] == 4  # claimed by the dead worker, leases running
    sink.release()

    cleanup.append(start_worker(drill_database, None, **env, **RECOVERY_ENV, **PRIVATE_TARGETS_ENV))

    def all_sent() -> bool:
        queue_step(http)  # what a cron does every minute, here every half second
        return {r["status"] for r in outbox_rows(drill_database)} == {"sent"}

    wait_until(all_sent, timeout=60, interval=0.5, what="every row to be sent")
    # Every row is sent, which no cron step takes again; the wake-ups still queued must then
    # find nothing to send either.
    queue_step(http)
    wait_for_idle_queue(private_redis.url, besides=orphaned)
    assert_each_once(sink, recipients)
    rows = outbox_rows(drill_database)
    # The four interrupted ones were sent on their second attempt, after their lease ran out.
    assert sorted(r["attempt_count"] for r in rows) == [1] * 26 + [2] * 4
