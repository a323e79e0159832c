"""A project's sending capacity: mail over it is held back (never dropped) and all of it arrives;
high-priority mail is never held; GET /emails/delivery-info and POST /emails/capacity-boost.

The throttled tests run an API and a worker of their own (Redis namespace of their own) with a
small capacity: 720 mails an hour, i.e. one every 5 s after a burst of a minute's worth (12).
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.helpers import assert_known_error, create_user, unique_email
from tests.conftest import QUEUE_NAMESPACE, ApiServer, Project, running_api
from tests.mail import (
    PRIVATE_TARGETS_ENV,
    MailSink,
    send_email,
    start_worker,
    wait_until,
)

PER_HOUR = 720
BURST = PER_HOUR // 60


@pytest.fixture(scope="module")
def throttled(migrated_database: str) -> Iterator[ApiServer]:
    """An API and a worker sharing a small capacity and a queue namespace of their own."""
    env = {
        "STACK_DEFAULT_EMAIL_CAPACITY_PER_HOUR": str(PER_HOUR),
        "STACK_QUEUE_NAMESPACE": f"{QUEUE_NAMESPACE}:cap{secrets.token_hex(3)}",
    }
    worker = start_worker(migrated_database, None, **env, **PRIVATE_TARGETS_ENV)
    try:
        with running_api(migrated_database, **env) as api:
            yield api
    finally:
        worker.stop()


def outbox(http: httpx.Client, project: Project) -> list[dict[str, Any]]:
    r = http.get("/api/v1/emails/outbox", headers=project.headers("server"), params={"limit": 100})
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def held_back(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows still waiting with their next attempt moved seconds past their creation."""
    return [
        i
        for i in items
        if i["status"] == "queued"
        and i["next_attempt_at_millis"] is not None
        and i["next_attempt_at_millis"] - i["created_at_millis"] > 2000
    ]


def test_mail_over_capacity_is_held_back_then_all_of_it_arrives(
    throttled: ApiServer, own_server: tuple[MailSink, Project]
) -> None:
    sink, project = own_server
    count = BURST + 3
    with throttled.client() as http:
        addresses = [unique_email("cap") for _ in range(count)]
        users = [create_user(http, project, primary_email=a)["id"] for a in addresses]
        r = send_email(http, project, users, html="<p>News</p>", subject="Newsletter")
        assert r.status_code == 200, r.text

        held = wait_until(lambda: held_back(outbox(http, project)), 10, what="mail held back")
        assert all(i["attempt_count"] == 0 for i in held)  # waiting, not failed attempts
        # Over capacity is a wait, not a failure: nothing failed or was skipped.
        assert {i["status"] for i in outbox(http, project)} <= {"queued", "sending", "sent"}

        # A sign-in code cannot wait behind a newsletter: high priority is never held back.
        urgent = unique_email("urgent")
        urgent_user = create_user(http, project, primary_email=urgent)["id"]
        started = time.monotonic()
        r = send_email(
            http, project, [urgent_user], html="<p>Code</p>", subject="Code", is_high_priority=True
        )
        assert r.status_code == 200, r.text
        sink.wait_for(urgent, timeout=10)
        assert time.monotonic() - started < 4  # the backlog's last slot is ~15 s away
        assert held_back(outbox(http, project)), "the backlog was still waiting"

        # ... and all of the backlog arrives, each message once, in about count/rate seconds.
        wait_until(lambda: len(sink.messages()) == count + 1, 60, what="every message")
        received = Counter(to for m in sink.messages() for to in m["rcpt_tos"])
        assert received == Counter([*addresses, urgent])
        wait_until(
            lambda: {i["status"] for i in outbox(http, project)} == {"sent"}, what="all sent"
        )


def test_delivery_info_counts_sent_mail_and_reports_the_capacity(
    throttled: ApiServer, own_server: tuple[MailSink, Project]
) -> None:
    sink, project = own_server
    with throttled.client() as http:
        info = http.get("/api/v1/emails/delivery-info", headers=project.headers("server"))
        assert info.status_code == 200, info.text
        zero = {"sent": 0, "bounced": 0, "marked_as_spam": 0}
        assert info.json() == {
            "stats": {"hour": zero, "day": zero, "week": zero, "month": zero},
            "capacity": {
                "rate_per_second": PER_HOUR / 3600,
                "boost_multiplier": 1,
                "penalty_factor": 1,
                "is_boost_active": False,
                "boost_expires_at": None,
            },
        }
        addresses = [unique_email("stat") for _ in range(2)]
        users = [create_user(http, project, primary_email=a)["id"] for a in addresses]
        assert send_email(http, project, users, html="<p>x</p>", subject="x").status_code == 200
        for address in addresses:
            sink.wait_for(address)

        def two_sent() -> dict[str, Any] | None:
            body: dict[str, Any] = http.get(
                "/api/v1/emails/delivery-info", headers=project.headers("admin")
            ).json()
            return body if body["stats"]["month"]["sent"] == 2 else None

        body = wait_until(two_sent, what="two sent mails counted")
        assert [body["stats"][w]["sent"] for w in ("hour", "day", "week", "month")] == [2] * 4
        # The capacity grows with last month's mail: default + 4 x its hourly average.
        expected = (PER_HOUR + 4 * 2 / 30 / 24) / 3600
        assert body["capacity"]["rate_per_second"] == pytest.approx(expected)


def test_a_capacity_boost_quadruples_the_rate_for_four_hours_once_at_a_time(
    throttled: ApiServer, make_project: Callable[..., Project]
) -> None:
    project = make_project()
    with throttled.client() as http:
        r = http.post("/api/v1/emails/capacity-boost", headers=project.headers("server"), json={})
        assert r.status_code == 200, r.text
        expires_at = r.json()["expires_at"]
        assert expires_at.endswith("Z")
        ends = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
        assert abs(ends - datetime.now(UTC) - timedelta(hours=4)) < timedelta(minutes=1)

        again = http.post("/api/v1/emails/capacity-boost", headers=project.headers("admin"))
        assert_known_error(
            again, "EMAIL_CAPACITY_BOOST_ALREADY_ACTIVE", 409, {"expires_at": expires_at}
        )
        capacity = http.get(
            "/api/v1/emails/delivery-info", headers=project.headers("server")
        ).json()["capacity"]
        assert capacity == {
            "rate_per_second": PER_HOUR / 3600 * 4,
            "boost_multiplier": 4,
            "penalty_factor": 1,
            "is_boost_active": True,
            "boost_expires_at": expires_at,
        }
        for path in ("/api/v1/emails/capacity-boost", "/api/v1/emails/delivery-info"):
            method = "POST" if path.endswith("boost") else "GET"
            r = http.request(method, path, headers=project.headers())
            assert_known_error(r, "INSUFFICIENT_ACCESS_TYPE", 401)
